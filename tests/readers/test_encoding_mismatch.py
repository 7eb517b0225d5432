"""Quiet corruption of text: a file in another encoding than the source's is refused with the
encoding it is in, never published as mojibake."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from partnerdata import cli
from partnerdata.errors import PartnerFileError
from partnerdata.readers import csv_reader
from tests.conftest import Project, dump_yaml

TEXT = "id,title,start\nA-1,Leerweek België – Liège,2021-05-01\nA-2,Gastcollege Ñandú,2021-05-08\n"


def read(path: Path, encoding: str):
    options = csv_reader.parse_options({"encoding": encoding}, "source x")
    return csv_reader.read([path], options, ";")


def test_utf8_bytes_in_a_cp1252_source_are_refused_naming_utf8(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(TEXT.encode("utf-8"))
    with pytest.raises(PartnerFileError) as refused:
        read(path, "cp1252")
    message = str(refused.value)
    assert "UTF-8" in message and "line 2" in message and "'België'" in message, message
    assert "utf-8 or auto" in message and "BelgiÃ«" in message, message  # what it would have become


@pytest.mark.parametrize("encoding", ["latin-1", "iso-8859-15", "cp850"])
def test_every_single_byte_encoding_is_checked(tmp_path, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(TEXT.encode("utf-8"))
    with pytest.raises(PartnerFileError, match="UTF-8"):
        read(path, encoding)


def test_cp1252_bytes_in_a_utf8_source_suggest_cp1252_or_auto(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(TEXT.encode("cp1252"))
    with pytest.raises(PartnerFileError) as refused:
        read(path, "utf-8")
    message = str(refused.value)
    assert "line 2" in message and "cp1252" in message and "auto" in message, message
    assert "'België'" in message, message  # the word as cp1252 reads it


@pytest.mark.parametrize(
    ("octets", "encoding"),
    [
        (TEXT.encode("cp1252"), "cp1252"),  # what it says it is
        ("id,title,start\nA-1,Plain seminar,2021-05-01\n".encode("ascii"), "cp1252"),  # ASCII is both
        (TEXT.encode("utf-8"), "auto"),
        (TEXT.encode("cp1252"), "auto"),
    ],
)
def test_files_in_the_encoding_they_name_are_read(tmp_path, octets, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(octets)
    (result,) = read(path, encoding)
    titles = result.table.column("title").to_pylist()
    assert all("Ã" not in title for title in titles), titles


def test_a_run_keeps_the_good_text_and_names_the_encoding(tmp_path, capsys, prefect_engine):
    root = tmp_path / "project"
    root.mkdir()
    entry = {
        "source_id": "hzk", "organisation": {"id": "ORG-H", "name": "Hogeschool", "country": "BE"},
        "url": "export.csv", "format": "csv", "csv": {"encoding": "cp1252"}, "resource": "activities",
        "columns": {"activity_id": "id", "title": "title", "start_date": "start"},
        "constants": {"programme": "enspired", "activity_type": "learning_week", "country": "BE"},
    }  # fmt: skip
    (root / "sources.yaml").write_text(dump_yaml({"sources": [entry]}), encoding="utf-8")
    project = Project(root)
    (root / "export.csv").write_bytes(TEXT.encode("cp1252"))
    assert cli.main(project.cli_args()) == 0, capsys.readouterr().err
    (root / "export.csv").write_bytes(TEXT.replace("Liège", "Luik").encode("utf-8"))  # the partner's new export
    status = cli.main(project.cli_args())
    err = capsys.readouterr().err
    assert status == 3, err
    line = err.strip().splitlines()[-1]
    assert "hzk (" in line and "UTF-8" in line and "auto" in line, line
    published = (project.published / "latest" / "activities.csv").read_text(encoding="utf-8")
    titles = [row["title"] for row in csv.DictReader(io.StringIO(published))]
    assert "Leerweek België – Liège" in titles
    everything = "".join(p.read_text(encoding="utf-8", errors="replace") for p in project.published.rglob("*.csv"))
    assert "Ã" not in everything and "â€" not in everything
