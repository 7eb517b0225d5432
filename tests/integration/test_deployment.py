"""The deployments of prefect.yaml on a real `prefect server start` and a real process worker.

Starts a server on a free loopback port with its own PREFECT_HOME, creates the work pool (at
most one run at a time), runs `prefect deploy --all` from a copy of the project, starts a
worker, triggers `nightly/nightly` and a manual `refresh-sources` run with parameters, waits
for both, and checks the releases on disk, the artifacts through the API, and the scheduler's
next nightly run at 02:00 Brussels time; then a nightly whose raw_dir, published_dir and
reports_dir parameters are s3:// locations of a bucket on a loopback S3 server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.storage.bucket import Bucket, parse_url
from tests.support.s3 import ENVIRONMENT, new_bucket, s3_environment, s3_server

pytestmark = pytest.mark.slow
PREFECT = str(Path(os.sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(api: str, path: str) -> object:
    with urllib.request.urlopen(api + path, timeout=10) as response:
        return json.loads(response.read())


def _post(api: str, path: str, body: dict) -> object:
    request = urllib.request.Request(
        api + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("PREFECT_PROFILES_PATH", None)
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def healthy():
        try:
            return _get(api, "/health") is True
        except OSError:
            return False

    try:
        _wait(healthy, 120, "the Prefect server")
        yield api, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # its shutdown is not under test
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log.close()


def test_deployments_run_on_a_real_server_and_worker(prefect_server, tmp_path):
    api, env = prefect_server
    project = tmp_path / "project"
    project.mkdir()
    for name in ("sources.yaml", "prefect.yaml"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    for folder in ("demo", "flows"):
        shutil.copytree(PROJECT_ROOT / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**env, "PARTNERDATA_PROJECT_DIR": str(project)}

    def prefect(*args: str, timeout: float = 300) -> str:
        done = subprocess.run([PREFECT, *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    prefect("work-pool", "create", "partnerdata", "--type", "process")  # as `make deploy` does
    prefect("work-pool", "set-concurrency-limit", "partnerdata", "1")
    prefect("--no-prompt", "deploy", "--all")
    deployments = {d["name"] for d in _post(api, "/deployments/filter", {})}
    assert deployments == {"nightly", "refresh-sources", "republish", "dry-run"}
    pool = _get(api, "/work_pools/partnerdata")
    assert pool["concurrency_limit"] == 1

    storage = ExitStack()  # a bucket on a loopback S3 server, for the deployment parameters' s3:// locations
    endpoint = storage.enter_context(s3_server())
    storage.enter_context(s3_environment(endpoint))
    bucket = new_bucket()
    env = {**env, **ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}
    worker_log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "partnerdata"],
        cwd=project, env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        prefect("deployment", "run", "nightly/nightly", "--watch", "--watch-timeout", "240", timeout=300)
        assert sorted(p.name for p in (project / "published" / "releases").iterdir()) == ["1.0.0"]

        # A correction at one partner, then a manual run for that partner only, with parameters.
        partner_file = project / "demo/partners/brussels-teacher-college/sample_guest_lectures.csv"
        with open(partner_file, "a", encoding="utf-8") as out:
            out.write("BTC-GL-2024-03,webinar,One more webinar,,,2024-06-03,2024-06-03,Brussels,BE,teachers,,20,0,1,\n")
        prefect(
            "deployment", "run", "refresh-sources/refresh-sources", "--params", json.dumps({"sources": ["btc-guest-lectures"]}),
            "--watch", "--watch-timeout", "240", timeout=300,
        )  # fmt: skip
        assert sorted(p.name for p in (project / "published" / "releases").iterdir()) == ["1.0.0", "1.1.0"]

        # The other two manual flows, from the command line too: neither makes a release.
        prefect(
            "deployment", "run", "dry-run/dry-run", "--params", json.dumps({"sources": ["btc-guest-lectures"]}),
            "--watch", "--watch-timeout", "240", timeout=300,
        )  # fmt: skip
        prefect("deployment", "run", "republish/republish", "--watch", "--watch-timeout", "240", timeout=300)
        assert sorted(p.name for p in (project / "published" / "releases").iterdir()) == ["1.0.0", "1.1.0"]

        # The nightly with its places as deployment parameters: raw/, published/ and reports/ in the bucket.
        places = {f"{name}_dir": f"s3://{bucket}/{name}" for name in ("raw", "published", "reports")}
        prefect(
            "deployment", "run", "nightly/nightly", "--params", json.dumps(places), "--watch", "--watch-timeout", "240",
            timeout=300,
        )  # fmt: skip
        published = Bucket(parse_url(places["published_dir"]))
        assert json.loads(published.get("latest.json") or b"{}").get("version") == "1.0.0"
        assert published.get("releases/1.0.0/SHA256SUMS") and published.get("latest/activities.csv")
        assert [rel for rel in Bucket(parse_url(places["raw_dir"])).listing() if rel.endswith("/meta.json")]
        assert [rel for rel in Bucket(parse_url(places["reports_dir"])).listing() if rel.endswith("/report.md")]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a worker on a loaded machine may take longer to stop: not under test
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        worker_log.close()
        storage.close()

    names = {d["id"]: d["name"] for d in _post(api, "/deployments/filter", {})}
    runs = _post(
        api, "/flow_runs/filter", {"sort": "START_TIME_ASC", "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    )
    by_deployment = {names[run["deployment_id"]]: run for run in runs}
    assert set(by_deployment) == {"nightly", "refresh-sources", "dry-run", "republish"}
    in_bucket = [run for run in runs if run["parameters"].get("published_dir", "").startswith("s3://")]
    assert len(in_bucket) == 1 and in_bucket[0]["state"]["message"].startswith("published release 1.0.0")
    manual = by_deployment["refresh-sources"]
    assert manual["parameters"]["sources"] == ["btc-guest-lectures"]
    assert manual["state"]["message"].startswith("published release 1.1.0")
    assert by_deployment["dry-run"]["parameters"]["sources"] == ["btc-guest-lectures"]
    assert by_deployment["dry-run"]["state"]["message"].startswith("dry run: ")
    assert "nothing published" in by_deployment["republish"]["state"]["message"]

    # The artifacts of the manual run, through the API.
    artifacts = _post(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [manual["id"]]}}})
    by_key = {a["key"]: a for a in artifacts}
    assert (
        by_key["partnerdata-release"]["type"] == "markdown"
        and "# Release 1.1.0" in by_key["partnerdata-release"]["data"]
    )
    table = by_key["partnerdata-sources"]["data"]
    table = json.loads(table) if isinstance(table, str) else table
    statuses = {row["source"]: row["status"] for row in table}
    assert statuses["btc-guest-lectures"] == "fetched" and statuses["hzk-leerweken"] == "reused"

    # The scheduler has created the next nightly runs, at 02:00 in Brussels.
    def scheduled():
        return _post(api, "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})

    upcoming = _wait(scheduled, 60, "the scheduler")
    brussels = [
        dt.datetime.fromisoformat(r["expected_start_time"]).astimezone(ZoneInfo("Europe/Brussels")) for r in upcoming
    ]
    assert brussels and all((t.hour, t.minute) == (2, 0) for t in brussels)
