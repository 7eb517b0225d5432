"""Run a purge, and SIGKILL this process at its Nth file-system operation.

    python -m tests.support.crash_purge PUBLISHED VERSION N

Counts every operation that changes the file system (open for writing, rename, replace, symlink,
unlink, rmtree, fsync) and kills itself with SIGKILL just before the Nth; with N = 0 it purges and
prints how many operations that took. Used by tests/release/test_takedown.py.
"""

from __future__ import annotations

import builtins
import datetime as dt
import io
import os
import shutil
import signal
import sys
from pathlib import Path

from partnerdata.release.purge import purge_release

count = 0


def _counted(function, writes_only=False):
    def wrapper(*args, **kwargs):
        global count
        mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
        if not writes_only or any(flag in str(mode) for flag in "wax+"):
            count += 1
            if count == CRASH_AT:
                os.kill(os.getpid(), signal.SIGKILL)
        return function(*args, **kwargs)

    return wrapper


if __name__ == "__main__":
    published, version, CRASH_AT = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for module, name in ((os, "rename"), (os, "replace"), (os, "symlink"), (os, "unlink"), (os, "fsync"),
                         (shutil, "rmtree")):  # fmt: skip
        setattr(module, name, _counted(getattr(module, name)))
    builtins.open = io.open = _counted(io.open, writes_only=True)
    purge_release(published, version, "personal data in a title", "tester", dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    print(count, flush=True)
