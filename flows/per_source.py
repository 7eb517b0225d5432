"""What runs for one source where its step is done: a thread of the flow's process, or a Dask worker
(partnerdata.run.cluster sends these functions by reference).

Prefect is imported here only to read the Secret blocks that sources.yaml names: a worker of a
project that names none never imports it (a second of each worker's start, while the run's Prefect
server starts on the same cores).
"""

from __future__ import annotations

from typing import Any, cast

from partnerdata.config.sources import secret_block_names
from partnerdata.run import remote, steps
from partnerdata.run.plan import RunPaths
from partnerdata.run.summary import Collected


def collect_source(run: RunPaths, source_id: str, refetch: bool, now_iso: str, may_fetch: bool) -> Collected:
    """Fetch one source (``run``: its inputs perhaps shipped through the bucket)."""
    # The secrets are loaded where the source is fetched: never an argument Prefect or Dask could record.
    run = remote.local_inputs(run)  # sources.yaml and the schemas, from the bucket when the run ships them
    return steps.collect_source(run, source_id, refetch, now_iso, secrets(run.sources_file), may_fetch)


def secrets(sources_file: str) -> dict[str, str]:
    """The values of the Prefect Secret blocks that sources.yaml names as ${secret:NAME}."""
    names = secret_block_names(sources_file)
    if not names:
        return {}
    from prefect.blocks.system import Secret  # here: see the module's docstring

    values = {}
    for name in names:
        try:
            block = cast(Secret[str], Secret.load(name))  # a Secret, not a coroutine: the flows are synchronous
            values[name] = str(block.get())
        except ValueError:
            pass  # a missing block: load_config reports it with the entry and key that use it
    return values


def dask_setup(worker: Any) -> None:
    """Run by each worker of a local cluster as it starts (the cluster preloads this module): what every
    worker's first step would pay otherwise (the readers' imports, the schemas' first reading), done
    while the Prefect server starts. Only a warm-up: whatever goes wrong, the steps find it themselves."""
    try:
        steps.warm_up()
    except Exception as error:  # noqa: BLE001 (a worker must start anyway; its first step reports the cause)
        worker.log_event("partnerdata", {"warm-up failed": f"{type(error).__name__}: {error}"})
