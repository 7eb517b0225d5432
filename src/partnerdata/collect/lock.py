"""One writer at a time: exclusive locks on the folders a run writes (published/, raw/).

A lock is an flock(2) on the folder itself, so it writes no file into the public
folder and disappears with the process that held it, even after a SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from partnerdata.errors import LockTimeout

POLL_SECONDS = 0.2


@contextmanager
def folder_lock(folder: Path, timeout_seconds: float) -> Iterator[None]:
    """Hold the folder's lock for the block; wait at most timeout_seconds for another run to finish."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another partnerdata run holds the lock on {folder} and did not finish within "
                        f"{timeout_seconds:g} s; nothing was changed (try again later, or raise settings.lock_timeout_seconds)"
                    ) from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock
