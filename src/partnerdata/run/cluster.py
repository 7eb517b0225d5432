"""Where a run's per-source work is done: in the thread of the task that asks for it, or on a Dask cluster.

On a cluster each source's collection, and each source's validation, is one Dask task: a function of
the project's code (sent by reference: the workers have the project installed) with small arguments
(the run's paths or bucket URLs, a source id, a snapshot's place in raw/), and what comes back is as
small (run/summary.py): workers receive keys and URLs, never tables.

The Prefect task that asks waits for the result in the flow's own process, so Prefect's bookkeeping
(the task run, its logs and its retry) stays there, where it costs milliseconds. Run by prefect-dask's
task runner on a worker instead, each task cost the worker about 170 ms of CPU before it started (a
new API client with its TLS context, built twice, and Prefect's settings read again from the
environment and the project's files): 16 tasks on the demo made the Dask run 2 s slower than the
in-process one, with its files read and checked in a fraction of that.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from partnerdata.errors import ExitStatus, PartnerdataError

CONNECT_TIMEOUT_SECONDS = 30  # to reach the scheduler of --dask-address before the run gives up
Result = TypeVar("Result")


class ClusterError(PartnerdataError):
    """The Dask scheduler could not be reached: nothing was fetched or changed."""

    exit_status = ExitStatus.CONFIG


class ClusterLost(PartnerdataError):
    """The Dask cluster went away while a step ran on it: the run stopped before publishing."""


class Cluster:
    """A Dask cluster a run sends its per-source work to, through one client of the flow's process."""

    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self.address = address

    def call(self, name: str, function: Callable[..., Result], *args: Any) -> Result:
        """``function(*args)`` run on a worker; its result, or its exception with the worker's traceback.
        ``name``: the start of the task's key on the Dask dashboard (``collect-<source_id>``...).
        Raises ClusterLost when the step was cancelled because the scheduler went away."""
        future = self._client.submit(function, *args, key=f"{name}-{uuid.uuid4().hex[:12]}", pure=False)
        try:
            return future.result()
        except Exception as error:
            if future.status == "error":
                raise  # the step's own exception, raised on the worker
            raise ClusterLost(
                f"lost the Dask cluster at {self.address} while {name} ran ({type(error).__name__}: {error}); "
                "nothing was published: run again once its scheduler and workers are back"
            ) from error


@contextmanager
def connected(address: str | None) -> Iterator[Cluster | None]:
    """The Dask cluster whose scheduler is at ``address`` for the duration of a run, or None (no address)."""
    if address is None:
        yield None
        return
    from distributed import Client  # here: importing Dask costs a second, a run without it does not pay it

    try:
        client = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({type(error).__name__}: {error}); check the address "
            "(tcp://HOST:PORT) and that the scheduler runs; nothing was fetched or changed"
        ) from error
    with client:
        yield Cluster(client, address)
