"""`partnerdata` as a user runs it: a separate process, Prefect's real ephemeral server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from partnerdata import __version__, cli
from partnerdata.config.layout import PROJECT_ROOT

PARTNERDATA = str(Path(sys.executable).with_name("partnerdata"))


def _partnerdata(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)  # a fresh database: the slowest start-up the ephemeral server has
    return subprocess.run([PARTNERDATA, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_version():
    result = subprocess.run([PARTNERDATA, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"partnerdata {__version__}"


@pytest.mark.slow
def test_run_twice_from_the_project_folder_with_clean_output(demo_project, tmp_path):
    """Defaults (sources.yaml, raw/, published/, reports/) are relative to the working folder."""
    home = tmp_path / "prefect-home"
    first = _partnerdata("run", home=home, cwd=demo_project.root)
    assert first.returncode == 0, first.stderr[-3000:]
    output = first.stdout + first.stderr
    assert "Traceback" not in output
    assert not re.search(r"\|\s*(ERROR|CRITICAL)\s*\|", output), output[-3000:]
    assert "partnerdata run summary" in first.stdout
    assert re.search(r"hzk-leerweken\s+fetched\s+read\s+120\s+accepted\s+117\s+rejected\s+3", first.stdout)
    assert "release 1.0.0" in first.stdout
    assert (demo_project.published / "latest" / "datapackage.json").is_file()

    second = _partnerdata("run", home=home, cwd=demo_project.root)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "nothing changed since release 1.0.0" in second.stdout
    assert "Traceback" not in second.stdout + second.stderr
    assert sorted(p.name for p in (demo_project.published / "releases").iterdir()) == ["1.0.0"]


def test_prefect_yaml_schedules_the_nightly_deployment_at_two_in_brussels():
    document = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    nightly = next(d for d in document["deployments"] if d["name"] == "nightly")
    assert nightly["entrypoint"] == "flows/nightly.py:nightly"
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "Europe/Brussels", "active": True}]
    from flows.nightly import nightly as flow

    assert flow.name == "nightly"
    assert set(nightly["parameters"]) <= set(flow.parameters.properties)


@pytest.mark.slow
def test_a_failing_partner_is_named_on_the_last_line_of_stderr(demo_project, tmp_path):
    (demo_project.root / "demo/partners/wereldschool-ngo/sample_activities.json").write_bytes(b"")
    result = _partnerdata("run", home=tmp_path / "prefect-home", cwd=demo_project.root)
    assert result.returncode == 3, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("partnerdata: published release 1.0.0, but these sources failed")
    assert "wereldschool-activities (" in last and "is empty" in last
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("count", ["0", "-1", "two", "1000"])
def test_an_impossible_number_of_dask_workers_is_refused_before_anything_starts(count, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "--dask-workers", count])
    assert stopped.value.code == 2
    assert "--dask-workers" in capsys.readouterr().err.strip().splitlines()[-1]
