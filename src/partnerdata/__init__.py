"""partnerdata: collect, validate and publish partner records of international education programmes.

The library never imports Prefect; the flows in ``flows/`` orchestrate it.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Arrow's default allocator (mimalloc) keeps what a run frees for later use: a nightly run over a
# million rows peaked about 400 MB higher than with the C library's allocator, and the C library's
# kept 200 to 300 MB more than Arrow's jemalloc told to give freed pages back soon. How soon: at once
# (decay 0), each slice of a release written or compared is memory the kernel hands out afresh, page
# by page; after a second (DECAY_MS), a slice reuses the pages of the one before: make bench at 1M
# records took 11.6 s instead of 12.8 s and peaked 670 MB instead of 635 (at 10 s: no faster, 850
# MB; BENCHMARKS.md). Arrow reads this variable when pyarrow is first imported, and the processes a
# run starts (Dask workers) inherit it and set the decay again. A user's own choice still wins.
DECAY_MS = 1_000
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
if os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc":
    import pyarrow

    try:
        pyarrow.jemalloc_set_decay_ms(DECAY_MS)
        pyarrow.set_memory_pool(pyarrow.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())

try:
    __version__ = version("partnerdata")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
