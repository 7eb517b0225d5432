"""partnerdata: collect, validate and publish partner records of international education programmes.

The library never imports Prefect; the flows in ``flows/`` orchestrate it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("partnerdata")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
