"""Scale-out: the nightly flow's per-source steps on a Dask LocalCluster of worker processes give
byte-identical CSV and Parquet files to a local run; Prefect's task runs stay in the flow's process."""

from __future__ import annotations

import shutil
import sys
import time

import pytest
import yaml

from partnerdata import cli
from partnerdata.config.layout import PROJECT_ROOT
from tests.conftest import Project

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_engine")]


def _project(root) -> Project:
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "sources.yaml", root / "sources.yaml")
    shutil.copytree(PROJECT_ROOT / "demo", root / "demo")
    return Project(root)


def test_a_run_on_a_local_dask_cluster_gives_the_same_files_as_a_local_run(tmp_path, capsys):
    from distributed import Client, LocalCluster, get_task_stream

    local, spread = _project(tmp_path / "local"), _project(tmp_path / "dask")
    assert cli.main(local.cli_args()) == 0
    sources = [s["source_id"] for s in yaml.safe_load(spread.sources.read_text(encoding="utf-8"))["sources"]]
    names = {f"{step}-{source}" for step in ("collect", "validate") for source in sources}
    before = _task_runs(names)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with Client(cluster) as client, get_task_stream(client) as stream:
            assert cli.main(spread.cli_args("--dask-address", cluster.scheduler_address)) == 0
            transitions = client.run(lambda dask_worker: dask_worker.state.transition_counter)
            # the steps need no Prefect on a worker (but for a Secret block): importing it costs a second
            imported = client.run(lambda: sorted(m for m in sys.modules if m.split(".")[0] in ("prefect", "flows")))
        assert len(transitions) == 2 and sum(transitions.values()) > 0
    assert all(modules == ["flows", "flows.per_source"] for modules in imported.values()), imported
    steps = sorted(task["key"].rsplit("-", 1)[0] for task in stream.data)  # the keys: <step>-<source_id>-<hex>
    assert steps == sorted(names)
    assert {task["worker"] for task in stream.data} == set(transitions)  # both workers took part
    deadline = time.monotonic() + 30  # the server records task runs from their events, a moment later
    while len(new_runs := _task_runs(names) - before) < len(names) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(name for name, _ in new_runs) == sorted(names)  # each step a Prefect task run, of this run
    out = capsys.readouterr().out
    assert out.count("published release 1.0.0") >= 2
    files = [
        f"{r}.{e}" for r in ("activities", "projects", "organisations", "project_partners") for e in ("csv", "parquet")
    ]
    for name in files:
        a = (local.published / "latest" / name).read_bytes()
        b = (spread.published / "latest" / name).read_bytes()
        assert a == b, name


def _task_runs(names: set[str]) -> set[tuple[str, str]]:
    """The (name, id) of each task run of these names that the session's Prefect server recorded."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=sorted(names))))
    return {(run.name, str(run.id)) for run in runs}


def test_a_dask_scheduler_that_cannot_be_reached_stops_the_run_before_anything_is_fetched(
    tmp_path, capsys, monkeypatch
):
    import socket

    from partnerdata.run import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_SECONDS", 2)
    with socket.socket() as unused:  # a port of the loopback interface nobody listens on
        unused.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
    project = _project(tmp_path / "project")
    assert cli.main(project.cli_args("--dask-address", address)) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert "nothing was fetched or changed" in err
    for folder in (project.raw, project.published):
        assert not folder.exists() or not any(folder.iterdir()), folder


def test_a_local_cluster_listens_on_the_loopback_interface_only():
    """`run --dask-workers N` starts its cluster with these settings: no socket of the scheduler, the
    workers or their nannies (nor an HTTP endpoint) is reachable from another machine."""
    import psutil
    from distributed import LocalCluster

    from partnerdata.cli import local_cluster_kwargs

    with LocalCluster(**local_cluster_kwargs(2)):
        processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
        listening = [
            (process.pid, connection.laddr.ip)
            for process in processes
            for connection in process.net_connections(kind="inet")
            if connection.status == psutil.CONN_LISTEN
        ]
    assert len({pid for pid, _ in listening}) >= 3  # the scheduler's process and two workers
    assert {ip for _, ip in listening} == {"127.0.0.1"}, listening


def test_dask_workers_start_a_local_cluster_beside_the_run_s_one_prefect_server(tmp_path):
    """`partnerdata run --dask-workers 2` as a user types it (no Prefect server named, so the run starts a
    temporary one): the cluster starts beside that server, its workers preload the steps, and no
    other temporary server starts (each worker started one, 15 s before its first task, in issue 19)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    project = _project(tmp_path / "project")
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL" and not k.startswith("PYTEST")}
    environment["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    environment["PREFECT_LOGGING_LEVEL"] = "DEBUG"  # Prefect logs its heartbeat thread's start at DEBUG
    done = subprocess.run(
        [str(Path(sys.executable).with_name("partnerdata")), *project.cli_args("--dask-workers", "2")],
        env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "published release 1.0.0" in done.stdout
    assert output.count("Starting temporary server") == 1, output[-5000:]  # the run's, and no worker's
    assert "heartbeat context" not in output  # none to a server that stops with the run (flows.run_settings)
    assert (project.published / "latest" / "activities.csv").is_file()


def test_a_secret_block_is_read_on_the_dask_worker_that_fetches_and_is_written_nowhere(tmp_path, partner_server, capfd):
    """The workers read the Secret block from the run's Prefect server themselves (they alone import
    Prefect for it): its value never travels as a task's argument, nor lands in a file."""
    from distributed import Client, LocalCluster
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL

    from tests.conftest import remote_and_local_project
    from tests.integration.test_flow_collect import TOKEN, _csv, _everything_written
    from tests.support.partner_server import Response

    Secret(value=TOKEN).save("dask-partner-token", overwrite=True)
    project = remote_and_local_project(
        tmp_path, partner_server, headers={"Authorization": "Bearer ${secret:dask-partner-token}"}
    )
    partner_server.serve("/export.csv", Response(200, _csv(2), require={"Authorization": f"Bearer {TOKEN}"}))
    server = {"PREFECT_API_URL": str(PREFECT_API_URL.value())}  # the session's test server
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=2, dashboard_address=None, env=server) as cluster:
        status = cli.main(project.cli_args("--dask-address", cluster.scheduler_address))
        with Client(cluster) as client:
            imported = client.run(lambda: "prefect.blocks.system" in sys.modules)
    captured = capfd.readouterr()  # the worker processes' output too
    assert status == 0, captured.err[-3000:]
    assert partner_server.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
    assert list(imported.values()) == [True]
    assert TOKEN.encode() not in _everything_written(project)
    assert TOKEN not in captured.out + captured.err


def test_a_cluster_that_goes_away_mid_run_stops_it_with_a_clear_message_and_publishes_nothing(
    tmp_path, partner_server, capsys
):
    import threading
    import time

    from distributed import LocalCluster

    from tests.conftest import remote_and_local_project
    from tests.integration.test_flow_collect import _csv
    from tests.support.partner_server import Response

    project = remote_and_local_project(tmp_path, partner_server)
    partner_server.serve("/export.csv", Response(200, _csv(2), delay=4))  # a slow partner: still fetching when...
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=2, dashboard_address=None) as cluster:

        def close_once_fetching() -> None:
            deadline = time.monotonic() + 60
            while not partner_server.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            cluster.close()  # ...the scheduler and its worker stop

        closing = threading.Thread(target=close_once_fetching)
        closing.start()
        started = time.monotonic()
        status = cli.main(project.cli_args("--dask-address", cluster.scheduler_address))
        closing.join()
    err = capsys.readouterr().err
    assert status == 1, err[-3000:]
    assert f"lost the Dask cluster at {cluster.scheduler_address} while collect-remote ran" in err
    assert "nothing was published" in err
    assert not (project.published / "latest.json").exists()
    assert time.monotonic() - started < 30  # not tried again 30 s later: the cluster is gone
