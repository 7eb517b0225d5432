"""Run the library's publish step, and SIGKILL this process at its Nth file-system operation.

    python -m tests.support.crash_publish PUBLISHED TABLES_DIR N

Reads the tables to publish from TABLES_DIR/<resource>.parquet, counts every operation that
changes the file system (open for writing, mkdir, rename, replace, symlink, unlink, rmtree,
fsync, a Parquet write) and kills itself with SIGKILL just before the Nth; with N = 0 it
publishes and prints how many operations that took. Used by tests/release/test_release_crash.py.
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

import pyarrow.parquet as pq

from partnerdata.config.layout import SCHEMAS_DIR
from partnerdata.config.schemas import RESOURCE_NAMES, load_schemas
from partnerdata.release.publish import publish_release

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
    published, tables_dir, CRASH_AT = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    schemas = load_schemas(SCHEMAS_DIR)
    tables = {name: pq.read_table(tables_dir / f"{name}.parquet") for name in RESOURCE_NAMES}
    for module, name in ((os, "rename"), (os, "replace"), (os, "symlink"), (os, "unlink"), (os, "mkdir"),
                         (os, "fsync"), (shutil, "rmtree"), (pq, "write_table")):  # fmt: skip
        setattr(module, name, _counted(getattr(module, name)))
    builtins.open = io.open = _counted(io.open, writes_only=True)
    outcome = publish_release(
        tables, schemas, published, dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC), "fingerprint", {}, [], {}, {}
    )
    print(count, outcome.version, flush=True)
