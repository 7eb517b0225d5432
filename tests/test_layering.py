"""The library in src/partnerdata never imports Prefect; only the flows do."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import partnerdata


def test_no_library_module_imports_prefect():
    modules = [m.name for m in pkgutil.walk_packages(partnerdata.__path__, "partnerdata.")]
    assert "partnerdata.cli" in modules and "partnerdata.readers.csv_reader" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.'))\n"
        "print(loaded[:5]); sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"Prefect imported by the library: {result.stdout} {result.stderr[-2000:]}"
