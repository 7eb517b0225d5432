"""The nightly flow: collect every enabled source, validate, publish a release.

Thin on purpose: each task wraps one call of partnerdata.pipeline and passes
paths and small dictionaries, never tables. Input caching is off for every task:
its inputs are paths to large files whose contents change under the same name.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from partnerdata import pipeline
from partnerdata.config import secret_block_names
from partnerdata.errors import ConfigError, LockTimeout, NoTrustworthyRelease
from partnerdata.lock import folder_lock

MAX_PARALLEL_SOURCES = 8  # sources fetched and validated at the same time
SOURCES_ARTIFACT = "partnerdata-sources"  # the table artifact of each run that validated


@task(cache_policy=NO_CACHE, task_run_name="collect-{source_id}")
def collect(run: pipeline.RunPaths, source_id: str, refetch: bool, now_iso: str) -> dict[str, Any]:
    # Secrets are loaded inside the task, so they are never a task parameter Prefect could record.
    return pipeline.collect_source(run, source_id, refetch, now_iso, _secrets(run.sources_file))


def _secrets(sources_file: str) -> dict[str, str]:
    """The values of the Prefect Secret blocks that sources.yaml names as ${secret:NAME}."""
    values = {}
    for name in secret_block_names(sources_file):
        try:
            values[name] = str(Secret.load(name).get())
        except ValueError:
            pass  # a missing block: load_config reports it with the entry and key that use it
    return values


@task(cache_policy=NO_CACHE, task_run_name="validate-{collected[source_id]}")
def validate(run: pipeline.RunPaths, collected: dict[str, Any], work_dir: str) -> dict[str, Any]:
    return pipeline.validate_source(run, collected, work_dir)


@task(cache_policy=NO_CACHE, task_run_name="publish")
def publish(run: pipeline.RunPaths, validated: list[dict[str, Any]], started_iso: str) -> dict[str, Any]:
    return pipeline.publish(run, validated, started_iso)


@flow(
    name="nightly",
    description="Collect every enabled partner source, validate it and publish a release.",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_SOURCES),
)
def nightly(
    sources_file: str = "sources.yaml",
    raw_dir: str = "raw",
    published_dir: str = "published",
    reports_dir: str = "reports",
    only: list[str] | None = None,
    schemas_dir: str | None = None,
) -> Any:
    """Return a summary dictionary; end Failed (with the reason as message) when nothing could be published."""
    run = pipeline.RunPaths(sources_file, raw_dir, published_dir, reports_dir, schemas_dir or pipeline.DEFAULT_SCHEMAS)
    try:  # with the Secret blocks resolved: a missing block is a configuration error too
        config, _ = pipeline.load(run, _secrets(sources_file))
        plan = pipeline.plan_sources(config, only)
    except ConfigError as error:
        return Failed(
            message=str(error), data={"exit_status": pipeline.EXIT_CONFIG, "message": f"configuration error: {error}"}
        )
    try:
        timeout = config.settings.lock_timeout_seconds
        # published/ first: a second run waiting for it has not even created raw/ yet.
        with folder_lock(pipeline.Path(published_dir), timeout), folder_lock(pipeline.Path(raw_dir), timeout):
            return _run_locked(run, plan)
    except LockTimeout as error:
        return Failed(message=str(error), data={"exit_status": pipeline.EXIT_LOCKED, "message": str(error)})
    except NoTrustworthyRelease as error:
        return Failed(message=str(error), data={"exit_status": pipeline.EXIT_NO_RELEASE, "message": str(error)})


def _run_locked(run: pipeline.RunPaths, plan: list[dict[str, Any]]) -> Any:
    started = pipeline.utc_now().isoformat()
    pipeline.tidy_published(run)
    futures = [collect.submit(run, p["source_id"], p["refetch"], started) for p in plan]
    collected = [f.result() for f in futures]
    fingerprint = pipeline.input_fingerprint(run, collected)
    status = pipeline.exit_status(collected)
    same_as = pipeline.unchanged_since_latest(run, fingerprint)
    if same_as is not None and status == pipeline.EXIT_OK:
        message = f"nothing changed since release {same_as} (same snapshots, schemas, sources.yaml and code): nothing published"
        return Completed(
            message=message,
            data={
                "exit_status": status,
                "message": message,
                "version": None,
                "current_version": same_as,
                "sources": [
                    {"source_id": c["source_id"], "status": c["status"], "error": c["error"]} for c in collected
                ],
            },
        )
    work_dir = pipeline.make_work_dir()
    try:
        validated = [f.result() for f in [validate.submit(run, c, work_dir) for c in collected]]
        summary = publish(run, validated, started)
    finally:
        pipeline.remove_work_dir(work_dir)
    create_table_artifact(
        key=SOURCES_ARTIFACT,
        table=pipeline.sources_table(summary),
        description=f"Rows read, accepted and rejected per source; the reasons are in {summary['reports']}.",
    )
    return Completed(message=summary["message"], data={**summary, "exit_status": pipeline.exit_status(validated)})
