"""Dask workers that share no disk (issue 19): the nightly on a cluster of a scheduler and two workers,
each a process of its own started in a working directory of its own (its own TMPDIR and PREFECT_HOME),
with raw/, published/ and reports/ in the loopback bucket, gives the release of a local run. The workers
get the bucket's URL and the AWS variables, and the flow ships sources.yaml and the schemas through the
bucket: nothing they read is a path of the machine that started the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from partnerdata import cli
from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.storage.bucket import Bucket, parse_url
from tests.conftest import Project, dump_yaml
from tests.support.partner_server import Response

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_engine")]

DATA = ("activities", "projects", "organisations", "project_partners")
DASK = Path(sys.executable).with_name("dask")


def _served_demo(root: Path, server) -> Project:
    """The demo project with every partner file served by the loopback server instead of read from disk."""
    root.mkdir()
    document = yaml.safe_load((PROJECT_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    for entry in document["sources"]:
        path = entry["url"]
        server.serve(f"/{path}", Response(body=(PROJECT_ROOT / path).read_bytes()))
        entry["url"] = f"{server.base_url}/{path}"
    (root / "sources.yaml").write_text(dump_yaml(document), encoding="utf-8")
    return Project(root)


def _start(arguments: list[str], folder: Path, environment: dict[str, str]) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    own = {**environment, "TMPDIR": str(folder / "tmp"), "PREFECT_HOME": str(folder / "prefect")}
    log = (folder / "log.txt").open("wb")
    return subprocess.Popen([str(DASK), *arguments], cwd=folder, env=own, stdout=log, stderr=subprocess.STDOUT)


def _scheduler_address(scheduler_file: Path, process: subprocess.Popen) -> str:
    import json

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if scheduler_file.is_file():
            return str(json.loads(scheduler_file.read_text(encoding="utf-8"))["address"])
        assert process.poll() is None, "the Dask scheduler stopped"
        time.sleep(0.2)
    raise AssertionError("the Dask scheduler did not start within 60 s")


def _own_scratch() -> tuple[str, list[str]]:
    import tempfile

    return tempfile.gettempdir(), sorted(p.name for p in Path(tempfile.gettempdir()).iterdir())


def test_workers_in_their_own_folders_with_everything_in_a_bucket_give_the_release_of_a_local_run(
    tmp_path, partner_server, bucket_name, capsys
):
    from distributed import Client
    from prefect.settings import PREFECT_API_URL

    local = _served_demo(tmp_path / "local", partner_server)
    assert cli.main(local.cli_args()) == 0, capsys.readouterr().err[-3000:]

    environment = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST", "PREFECT"))}
    environment["PREFECT_API_URL"] = str(PREFECT_API_URL.value())  # the test's Prefect server, not one each
    scheduler_file = tmp_path / "cluster" / "scheduler.json"
    scheduler = ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
    processes = [_start([*scheduler, "--scheduler-file", str(scheduler_file)], tmp_path / "cluster", environment)]
    try:
        address = _scheduler_address(scheduler_file, processes[0])
        for n in (1, 2):
            folder = tmp_path / f"worker-{n}"
            processes.append(_start(["worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                     "--local-directory", str(folder / "dask"), "--name", f"worker-{n}"],
                                    folder, environment))  # fmt: skip
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            places = [f"s3://{bucket_name}/{name}" for name in ("raw", "published", "reports")]
            args = ["run", "--sources", str(local.sources), "--raw", places[0], "--published", places[1],
                    "--reports", places[2], "--dask-address", address]  # fmt: skip
            status = cli.main(args)
            assert status == 0, capsys.readouterr().err[-3000:]
            transitions = client.run(lambda dask_worker: dask_worker.state.transition_counter)
            folders = client.run(os.getcwd)
            scratch = client.run(_own_scratch)
        assert len(transitions) == 2 and all(count > 0 for count in transitions.values())  # both took tasks
        assert sorted(Path(f).name for f in folders.values()) == ["worker-1", "worker-2"]
        for worker, (tmp, names) in scratch.items():  # each read the shipped inputs, in a mirror of its own
            assert Path(tmp).parent.name.startswith("worker-"), (worker, tmp)
            assert {name.rsplit("-", 1)[0] for name in names} >= {"partnerdata-inputs", "partnerdata-raw"}, names
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    published = Bucket(parse_url(places[1]))
    for name in DATA:
        for ending in ("csv", "parquet"):
            ours = (local.published / "latest" / f"{name}.{ending}").read_bytes()
            assert published.get(f"latest/{name}.{ending}") == ours, f"{name}.{ending}"
    raw = Bucket(parse_url(places[0]))
    assert not [rel for rel in raw.listing() if rel.startswith(".")]  # the run's shipped inputs and rows are gone
    assert len([rel for rel in raw.listing() if rel.endswith("/meta.json")]) == len(
        list(local.raw.glob("*/*/meta.json"))
    )
    shutil.rmtree(tmp_path / "cluster", ignore_errors=True)
