"""partnerdata's findings equal frictionless-py's on the same CSV and schema (a first differential test).

The table comes from the validation benchmark's generator (bench/validate.py): activity rows with
errors of ten kinds injected (required, enum, pattern, type of dates and integers, minimum,
minLength, duplicate primary keys). Foreign keys and list items are left out there, as frictionless
checks the former only across a package and never the latter.
"""

from __future__ import annotations

import importlib.util

import pytest

from partnerdata.paths import PROJECT_ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("bench_validate", PROJECT_ROOT / "bench" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_findings_equal_frictionless_on_generated_tables(tmp_path, seed):
    bench = _bench()
    path = tmp_path / "activities.csv"
    bench.generate(path, 3000, seed=seed)
    ours, theirs = bench.partnerdata_findings(path), bench.frictionless_findings(path)
    assert len(theirs) > 10  # errors were injected
    assert ours == theirs
