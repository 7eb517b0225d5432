"""``partnerdata catalogue score`` (issue 17): the catalogue scored as data.europa.eu's MQA scores it, with its
URLs probed on loopback and the official shapes, before any portal harvests it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from partnerdata import cli
from tests.support.release_data import catalogue_site


@pytest.fixture(scope="module")
def served(schemas, tmp_path_factory):
    """The demo catalogue (three releases, one withdrawn) served by `partnerdata serve` on loopback, with
    base_url pointing at it."""
    folder = tmp_path_factory.mktemp("score")
    (folder / "published").mkdir()
    command = [
        sys.executable,
        "-m",
        "partnerdata.cli",
        "serve",
        "--published",
        str(folder / "published"),
        "--port",
        "0",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()  # serving ... on http://127.0.0.1:PORT/ (Ctrl-C stops)
        base_url = re.search(r"(http://127\.0\.0\.1:\d+/)", line).group(1)
        yield catalogue_site(schemas, folder, base_url)
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.conformance
def test_every_url_answering_the_catalogue_scores_405_of_405(served, reference, capsys):
    assert cli.main(["catalogue", "score", "--published", str(served), "--probe", "--shapes", str(reference)]) == 0
    out = capsys.readouterr().out
    assert "total 405.0 of 405: Excellent" in out, out
    assert "fix first" not in out
    assert "DCAT-AP 3.0.1 shapes, with the recommended ones (catalog.ttl): 0 violations, 0 warnings" in out
    assert "DCAT-AP 2.1.1 shapes, with the recommended ones (catalog-dcat-ap-2.ttl): 0 violations, 0 warnings" in out
    lines = [line.split() for line in out.splitlines() if " of " in line and line.startswith("    ")]
    assert lines and all(parts[-3] == parts[-1] + ".0" for parts in lines), out  # every indicator at full points


def test_without_a_probe_or_shapes_it_says_what_it_could_not_know(served, capsys):
    assert cli.main(["catalogue", "score", "--published", str(served), "--shapes", str(served / "none")]) == 0
    out = capsys.readouterr().out
    assert "total 295.0 of 405: Good" in out, out  # 50 + 30 (URLs not probed) + 30 (compliance not known)
    assert "access URL answers                            0.0 of 50  (not known: see below)" in out
    fixes = [line for line in out.splitlines() if "points" in line]
    assert fixes[0].split()[0] == "50.0" and "--probe" in fixes[0]  # the most points first


def test_a_dead_url_costs_its_points_and_is_named(served, capsys, tmp_path):
    text = (served / "catalog.ttl").read_text(encoding="utf-8")
    copy = tmp_path / "published"
    copy.mkdir()
    port = text.split("http://127.0.0.1:", 1)[1].split("/", 1)[0]
    (copy / "catalog.ttl").write_text(
        text.replace(f"127.0.0.1:{port}/latest/", "127.0.0.1:9/latest/"), encoding="utf-8"
    )
    assert (
        cli.main(["catalogue", "score", "--published", str(copy), "--probe", "--shapes", str(tmp_path / "none")]) == 0
    )
    out = capsys.readouterr().out
    assert "ConnectionError: http://127.0.0.1:9/latest/" in out
    total = float(out.split("total ")[1].split(" of")[0])
    assert total < 375  # the series' files do not answer


def test_no_catalogue_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["catalogue", "score", "--published", str(tmp_path)]) == 2
    assert "no catalogue to score" in capsys.readouterr().err
