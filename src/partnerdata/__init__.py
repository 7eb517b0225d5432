"""partnerdata: collect, validate and publish partner records of international education programmes.

The library never imports Prefect; the flows in ``flows/`` orchestrate it.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version

# Arrow's default allocator (mimalloc) keeps what a run frees for later use: a nightly run over a
# million rows peaked about 400 MB higher than with the C library's allocator, at the same speed
# (make bench; BENCHMARKS.md). Arrow picks its allocator from this variable when pyarrow is first
# imported; it is also inherited by the processes a run starts (Dask workers). When pyarrow was
# imported before partnerdata, the default pool is switched instead. A user's own choice still wins.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if "pyarrow" in sys.modules:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())

try:
    __version__ = version("partnerdata")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
