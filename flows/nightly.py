"""The flows: nightly (every enabled source, on a schedule) and the manual entry points
refresh-sources (collect chosen sources again), republish (from the raw snapshots, fetching
nothing) and dry-run (collect, validate and report; publish nothing).

Thin on purpose: the four flows share one body (``_run``; their decorators stay ``@flow(...)``
with literal names, which ``prefect deploy`` reads from the source), and each task wraps one call of
partnerdata.run.steps (collect's through flows/per_source.py, which reads the Secret blocks) and
passes the typed values of partnerdata.run.summary (paths, ids, counts), never tables. Input
caching is off for every task: its inputs are paths to large files whose contents change under the
same name.

The tasks run on the flow's own threads. Given a Dask cluster (``dask_address``), each per-source
task sends its step there and waits (partnerdata.run.cluster): the work is done on the workers,
Prefect's bookkeeping stays here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed, wait
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows import per_source
from partnerdata.config.sources import Config
from partnerdata.errors import ConfigError, ExitStatus, LockTimeout, NoTrustworthyRelease
from partnerdata.run import cluster, notify, places, remote, steps
from partnerdata.run.cluster import Cluster, ClusterError, ClusterLost
from partnerdata.run.plan import DEFAULT_SCHEMAS, RunPaths, load, plan_sources
from partnerdata.run.summary import (
    Collected,
    PlannedSource,
    RunSummary,
    Validated,
    exit_status,
    failed_partners,
    warned_sources,
)
from partnerdata.storage.bucket import StorageError, is_url
from partnerdata.util.clock import utc_now

MAX_PARALLEL_SOURCES = 8  # sources this process fetches at the same time (validating: as many as cores)
MAX_TASKS_IN_FLIGHT = 64  # the flow's threads: on a Dask cluster, each waits for its source's step on a worker
FETCH_SLOTS = threading.BoundedSemaphore(MAX_PARALLEL_SOURCES)
SOURCES_ARTIFACT = "partnerdata-sources"  # the table artifact of each run that validated
RELEASE_ARTIFACT = "partnerdata-release"  # the Markdown release summary of each run that validated


def _thread_pool() -> TaskRunner[PrefectFuture[Any]]:
    """Each flow's task runner: a pool of MAX_TASKS_IN_FLIGHT threads."""
    # Prefect annotates task_runner as a runner of PrefectFuture; its own thread pool runs PrefectConcurrentFuture.
    return cast(TaskRunner[PrefectFuture[Any]], ThreadPoolTaskRunner(max_workers=MAX_TASKS_IN_FLIGHT))


def _worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Any failure of a collect is tried once more, but the loss of the cluster it ran on."""
    return not isinstance(state.data, ClusterLost)


@task(
    cache_policy=NO_CACHE,
    task_run_name="collect-{source_id}",
    retries=1,
    retry_delay_seconds=30,
    retry_condition_fn=_worth_retrying,
)
def collect(
    run: RunPaths, source_id: str, refetch: bool, now_iso: str, may_fetch: bool = True, on: Cluster | None = None
) -> Collected:
    """Fetch one source, here or on the cluster ``on`` (its HTTP retries are in the library; this retry
    covers anything else)."""
    if on is None:
        with FETCH_SLOTS:
            collected = per_source.collect_source(run, source_id, refetch, now_iso, may_fetch)
    else:
        collected = on.call(
            f"collect-{source_id}", per_source.collect_source, run, source_id, refetch, now_iso, may_fetch
        )
    error = f" ({collected.error})" if collected.error else ""
    get_run_logger().info("%s: collected, %s%s", source_id, collected.status, error)
    return collected


@contextmanager
def run_settings() -> Iterator[None]:
    """Prefect's settings for a run that ``partnerdata run`` starts in this process.

    With no Prefect server configured, the run starts a temporary one of its own, and then sends no
    flow-run heartbeats: they let a server mark a run crashed once they stop, and this server stops
    with the run. (The end of each flow run also waits for the heartbeat thread, which sleeps in steps
    of a second: up to a second of every run, at random.) With a server configured, nothing changes."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@contextmanager
def local_dask_cluster(cluster_kwargs: dict[str, Any]) -> Iterator[str]:
    """A local Dask cluster for one run (``cluster_kwargs``: the CLI's), its scheduler's address.

    Its start is hidden behind the Prefect server's, as far as the cores allow: with no server named
    (PREFECT_API_URL), the run's temporary one is started in a thread while the workers start and
    import the steps (a preload: else each first step pays the imports). The workers
    inherit the server's URL, for the Secret blocks a source may need (before, each started a temporary
    server of its own, about 15 s before its first task: where the 90 s of issue 19 went)."""
    from prefect.server.api.server import SubprocessASGIServer  # here: importing it costs seconds

    starting: threading.Thread | None = None
    failed: list[BaseException] = []
    named = bool(os.environ.get("PREFECT_API_URL"))
    if not named:
        server = SubprocessASGIServer()  # the process's one temporary server, the one the flow uses
        if not server.running and server.port is None:
            server.port = server.find_available_port()
        os.environ["PREFECT_API_URL"] = server.api_url
        starting = threading.Thread(target=_start, args=(server, failed), name="partnerdata-prefect-server")
        starting.start()
    try:
        from distributed import LocalCluster  # after the server's start: importing Dask takes half a second

        with LocalCluster(**cluster_kwargs, preload=["flows.per_source"]) as cluster:
            if starting is not None:
                starting.join()
            if failed:  # the server's own error, not the run's later "cannot connect"
                raise failed[0]
            yield cluster.scheduler_address
    finally:
        if starting is not None:
            starting.join()
        if not named:
            os.environ.pop("PREFECT_API_URL", None)


def _start(server: Any, failed: list[BaseException]) -> None:
    try:
        server.start()
    except BaseException as error:  # noqa: BLE001 (handed to the thread that waits for it)
        failed.append(error)


@task(cache_policy=NO_CACHE, task_run_name="validate-{collected.source_id}")
def validate(
    run: RunPaths, collected: Collected, work_dir: str, record: bool = True, on: Cluster | None = None
) -> Validated:
    """Read, check and judge one source's snapshot, here or on the cluster ``on``."""
    if on is None:
        validated = steps.validate_source(run, collected, work_dir, record)
    else:
        validated = on.call(f"validate-{collected.source_id}", steps.validate_source, run, collected, work_dir, record)
    prepared = validated.prepared
    counts = (
        f"{prepared.rows_accepted} of {prepared.rows_read} records pass the source's own checks (the checks "
        "across sources follow at publish)"
        if prepared
        else "no records"
    )
    get_run_logger().info("%s: validated, %s (%s)", collected.source_id, counts, validated.status)
    return validated


@task(cache_policy=NO_CACHE, task_run_name="publish")
def publish(run: RunPaths, validated: list[Validated], started_iso: str, dry_run: bool, work_dir: str) -> RunSummary:
    summary = steps.publish(run, validated, started_iso, dry_run, work_dir)
    get_run_logger().info("publish: %s", summary["message"])
    if summary.get("catalogue_error"):
        get_run_logger().warning("publish: %s", summary["catalogue_error"])
    return summary


def _paths(sources_file: str, raw_dir: str, published_dir: str, reports_dir: str, schemas_dir: str | None) -> RunPaths:
    return RunPaths(sources_file, raw_dir, published_dir, reports_dir, schemas_dir or DEFAULT_SCHEMAS)


@flow(
    name="nightly",
    description="Collect every enabled partner source, validate it and publish a release.",
    task_runner=_thread_pool(),
)
def nightly(
    sources_file: str = "sources.yaml",
    raw_dir: str = "raw",
    published_dir: str = "published",
    reports_dir: str = "reports",
    only: list[str] | None = None,
    schemas_dir: str | None = None,
    dask_address: str | None = None,
) -> Any:
    """Return a summary dictionary; end Failed (with the reason as message) when nothing could be published,
    or when a partner failed (its last good data, or none, was published with the others' new data).
    ``dask_address``: the scheduler (tcp://HOST:PORT) of a Dask cluster that collects and validates the sources."""
    paths = _paths(sources_file, raw_dir, published_dir, reports_dir, schemas_dir)
    return _run(paths, only, fetch=True, dry_run=False, dask_address=dask_address)


@flow(
    name="refresh-sources",
    description="Collect the chosen partner sources again and publish; the others keep their last good snapshot.",
    task_runner=_thread_pool(),
)
def refresh_sources(
    sources: list[str],
    sources_file: str = "sources.yaml",
    raw_dir: str = "raw",
    published_dir: str = "published",
    reports_dir: str = "reports",
    schemas_dir: str | None = None,
    dask_address: str | None = None,
) -> Any:
    paths = _paths(sources_file, raw_dir, published_dir, reports_dir, schemas_dir)
    return _run(paths, sources, fetch=True, dry_run=False, dask_address=dask_address)


@flow(
    name="republish",
    description="Publish again from the raw snapshots already collected, fetching nothing (after a schema or mapping fix).",
    task_runner=_thread_pool(),
)
def republish(
    sources_file: str = "sources.yaml",
    raw_dir: str = "raw",
    published_dir: str = "published",
    reports_dir: str = "reports",
    schemas_dir: str | None = None,
    dask_address: str | None = None,
) -> Any:
    paths = _paths(sources_file, raw_dir, published_dir, reports_dir, schemas_dir)
    return _run(paths, None, fetch=False, dry_run=False, dask_address=dask_address)


@flow(
    name="dry-run",
    description="Collect, validate and report (private reports, artifacts) without publishing anything.",
    task_runner=_thread_pool(),
)
def dry_run(
    sources: list[str] | None = None,
    sources_file: str = "sources.yaml",
    raw_dir: str = "raw",
    published_dir: str = "published",
    reports_dir: str = "reports",
    schemas_dir: str | None = None,
    dask_address: str | None = None,
) -> Any:
    paths = _paths(sources_file, raw_dir, published_dir, reports_dir, schemas_dir)
    return _run(paths, sources, fetch=True, dry_run=True, dask_address=dask_address)


def _run(run: RunPaths, only: list[str] | None, fetch: bool, dry_run: bool, dask_address: str | None) -> Any:
    """The body of every flow: plan, then under the lock collect, validate, publish; then tell people."""
    try:  # with the Secret blocks resolved: a missing block is a configuration error too
        config, _ = load(run, per_source.secrets(run.sources_file))
        plan = plan_sources(config, only, fetch)
    except ConfigError as error:
        return Failed(
            message=str(error), data={"exit_status": error.exit_status, "message": f"configuration error: {error}"}
        )
    try:
        # the cluster reached first (a dead scheduler changes nothing); then published/ locked (in a
        # bucket: its lease, and a working copy pulled from it and pushed back)
        with cluster.connected(dask_address) as on, places.held(run, config.settings.lock_timeout_seconds) as working:
            summary = _run_locked(working, plan, dry_run, on)
        if is_url(run.published_dir) and summary.get("release_path"):  # not the working copy, gone by now
            summary["release_path"] = f"{run.published_dir.rstrip('/')}/releases/{summary['version']}"
    except (ClusterError, ClusterLost, LockTimeout, NoTrustworthyRelease, StorageError) as error:
        return _failed(config, error.exit_status, str(error))
    except Exception as error:  # a bug, or a full disk: the run crashes, but not silently
        notify.notify(config, _notification("failed", f"the run failed: {type(error).__name__}: {error}", None))
        raise
    if summary["exit_status"] == ExitStatus.DEGRADED:
        failed = failed_partners(summary)
        message = (
            f"{summary['message']}; but these partners failed and their last good data (or none) was used: {failed}"
        )
        summary["notified"] = notify.notify(config, _notification("degraded", message, summary))
        get_run_logger().warning("%s", summary["notified"])
        return Failed(name="Degraded", message=message, data={**summary, "message": message})
    message = summary["message"]
    if summary.get("catalogue_error"):
        message = f"{message}; but {summary['catalogue_error']}"
    if summary.get("warnings"):  # nothing failed, but a person should look: notified, as warnings, not a failure
        message = f"{message}; with {len(summary['warnings'])} warning(s): {warned_sources(summary)}"
        for found in summary["warnings"]:
            get_run_logger().warning("%s: warning: %s", found["source_id"], found["message"])
        if not dry_run:  # a dry run is watched by the person who started it
            summary["notified"] = notify.notify(config, _notification("warnings", message, summary))
            get_run_logger().warning("%s", summary["notified"])
    return Completed(message=message, data=summary)


def _failed(config: Config, status: ExitStatus, message: str) -> Any:
    notified = notify.notify(config, _notification("failed", message, None))
    get_run_logger().warning("%s", notified)
    return Failed(message=message, data={"exit_status": status, "message": message, "notified": notified})


def _notification(status: str, message: str, summary: RunSummary | None) -> dict[str, Any]:
    """What the maintainers' webhook receives, from this flow run."""
    run = flow_run.get_id()
    return notify.notification(status, message, summary, flow_run.get_flow_name(), str(run) if run else None)


def _run_locked(run: RunPaths, plan: list[PlannedSource], dry_run: bool, on: Cluster | None) -> RunSummary:
    if not dry_run:
        steps.tidy_published(run)
    if remote.remove_leftover_runs(run):
        get_run_logger().info("removed what a killed run shared with its workers through %s", run.raw_dir)
    # Workers that may be other machines get sources.yaml, the schemas and each other's staged rows
    # through the bucket raw/ is in, under a place of this run's (removed when it ends).
    shared = remote.run_location(run) if remote.shares_no_disk(run, on is None) else None
    try:
        tasks_see = remote.ship_inputs(run, shared) if shared else run
        return _collect_validate_publish(run, tasks_see, plan, dry_run, shared, on)
    finally:
        if shared:
            remote.remove_run(shared)


def _collect_validate_publish(
    local: RunPaths, run: RunPaths, plan: list[PlannedSource], dry_run: bool, shared: str | None, on: Cluster | None
) -> RunSummary:
    """``local``: the run as this process sees it; ``run``: as the tasks do (their inputs perhaps shipped);
    ``on``: the Dask cluster the per-source steps run on, if any.

    A source that brought a new snapshot is validated as soon as it is collected, while the others
    are still being fetched: its new bytes make this run's inputs differ from the latest release's
    (but for a snapshot that went back to the very bytes that release used: then the judgement, the
    same as it was then, is made again and left unused). The others wait until every source is
    collected: when nothing changed, nothing is read."""
    started = utc_now().isoformat()
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    work_dir = f"{shared}/work" if shared else steps.make_work_dir()
    early: dict[str, PrefectFuture[Validated]] = {}
    submitted: list[PrefectFuture[Any]] = []
    try:
        futures = [collect.submit(run, p.source_id, p.refetch, started, p.may_fetch, on) for p in plan]
        submitted += futures
        for future in as_completed(futures):
            fresh = future.result()
            if fresh.status == "fetched":
                early[fresh.source_id] = validate.submit(run, fresh, work_dir, not dry_run, on)
                submitted.append(early[fresh.source_id])
        collected = [f.result() for f in futures]
        timings["collect"], clock = round(time.perf_counter() - clock, 3), time.perf_counter()
        fingerprint = steps.input_fingerprint(local, collected)
        status = exit_status(collected)
        same_as = steps.unchanged_since_latest(local, fingerprint)
        if same_as is not None and status == ExitStatus.OK and not dry_run:
            message = f"nothing changed since release {same_as} (same snapshots, schemas, sources.yaml and code): nothing published"
            return {
                "warnings": steps.unchanged_warnings(local, collected),
                "exit_status": status,
                "message": message,
                "version": None,
                "current_version": same_as,
                "sources": [{"source_id": c.source_id, "status": c.status, "error": c.error} for c in collected],
                "timings": timings,
            }
        validating = [early.get(c.source_id) or validate.submit(run, c, work_dir, not dry_run, on) for c in collected]
        submitted += validating
        validated = [f.result() for f in validating]
        timings["validate"], clock = round(time.perf_counter() - clock, 3), time.perf_counter()
        summary = publish(local, validated, started, dry_run, work_dir)
        timings["publish"] = round(time.perf_counter() - clock, 3)
    finally:
        # unused (nothing changed), or left running by one that failed: done before their folder goes,
        # and before the locks do
        wait(submitted)
        if not shared:
            steps.remove_work_dir(work_dir)
    create_table_artifact(
        key=SOURCES_ARTIFACT,
        table=notify.sources_table(summary),
        description=f"Per source: status, fallback or current data, rows read, accepted and rejected, snapshot age. "
        f"The reasons are in {summary['reports']}.",
    )
    create_markdown_artifact(key=RELEASE_ARTIFACT, markdown=notify.release_markdown(summary))
    return {**summary, "exit_status": exit_status(validated), "timings": timings}
