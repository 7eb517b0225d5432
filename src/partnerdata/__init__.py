"""partnerdata: collect, validate and publish partner records of international education programmes.

The library never imports Prefect; the flows in ``flows/`` orchestrate it.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Arrow's default allocator (mimalloc) keeps what a run frees for later use: a nightly run over a
# million rows peaked about 400 MB higher than with the C library's allocator, at the same speed
# (make bench; BENCHMARKS.md). Arrow reads this variable when it first allocates, so it is set
# here, before any partnerdata module uses Arrow. A user's own choice still wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

try:
    __version__ = version("partnerdata")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
