"""The library in src/partnerdata never imports Prefect; only the flows do."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import partnerdata
from partnerdata.config.layout import PROJECT_ROOT


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


def test_the_import_contracts_hold():
    """The layers, the library without Prefect, no import cycles: pyproject.toml's [tool.importlinter]."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 7 kept, 0 broken." in result.stdout, result.stdout[-2000:]


def test_an_upward_import_breaks_the_layers(tmp_path):
    """The contract can fail: a copy of the package where the config stage imports the run stage."""
    import shutil

    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "src", copy / "src")
    shutil.copytree(PROJECT_ROOT / "flows", copy / "flows")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", copy / "pyproject.toml")
    layout = copy / "src" / "partnerdata" / "config" / "layout.py"
    layout.write_text(layout.read_text() + "\nfrom partnerdata.run import summary  # noqa: E402,F401\n")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": f"{copy / 'src'}{os.pathsep}{copy}"}
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=copy, env=env)
    assert result.returncode != 0 and "partnerdata.config.layout -> partnerdata.run.summary" in result.stdout, (
        result.stdout[-3000:]
    )
