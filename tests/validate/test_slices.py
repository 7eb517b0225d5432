"""The sources put together a slice at a time give what the whole tables would: the same rows in
the same key order, the same checks across sources, the same free text scrubbed and reported."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from partnerdata.config.sources import load_config
from partnerdata.validate import across
from partnerdata.validate.privacy import FreeTextScrubber, scrub_free_text
from partnerdata.validate.source import POSITION, ROW, prepare_source, read_staged
from tests.conftest import dump_yaml

HEADER = "id,type,title,start,end,country,participants,international\n"


def _project(tmp_path: Path, sources: int, rows: int, seed: int) -> tuple[Path, set[str]]:
    """Activity sources whose keys interleave; some repeat an earlier source's key; some titles hold
    an e-mail address or a phone number."""
    rng = random.Random(seed)
    entries, duplicates, used = [], set(), []
    for index in range(sources):
        lines, earlier = [], list(used)
        for _ in range(rows):
            if earlier and rng.random() < 0.05:
                key = rng.choice(earlier)
                earlier.remove(key)
                duplicates.add(key)
            else:
                key = f"A-{rng.randrange(10**6):06d}"
                while key in used:
                    key = f"A-{rng.randrange(10**6):06d}"
                used.append(key)
            title = rng.choice(["Workshop", "Mail an.peeters@school.example", "Bel +32 9 000 12 34", "Seminar"])
            lines.append(f"{key},workshop,{title} {index},2020-01-01,2020-01-02,BE,10,2")
        (tmp_path / f"s{index}.csv").write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
        entries.append(
            {
                "source_id": f"s{index}",
                "organisation": {"id": f"ORG-{index}", "name": f"Partner {index}", "country": "BE"},
                "url": str(tmp_path / f"s{index}.csv"),
                "format": "csv",
                "resource": "activities",
                "columns": {
                    "activity_id": "id",
                    "activity_type": "type",
                    "title": "title",
                    "start_date": "start",
                    "end_date": "end",
                    "country": "country",
                    "participants_total": "participants",
                    "participants_international": "international",
                },  # fmt: skip
                "constants": {"programme": "enspired"},
            }
        )
    path = tmp_path / "sources.yaml"
    path.write_text(dump_yaml({"sources": entries}), encoding="utf-8")
    return path, duplicates


def _whole(schemas, prepared, findings) -> pa.Table:
    """What assemble published when it held every table whole: every source's staged rows in order,
    less the rows the checks across sources rejected, in schema order, sorted by key."""
    schema = schemas.arrow_schema("activities", published=True)
    tables = []
    for p in prepared:
        table = read_staged(p.staged["activities"])
        rejected = {f.row for f in findings if f.source_id == p.source_id}
        keep = pc.invert(pc.is_in(table.column(ROW), value_set=pa.array(sorted(rejected), pa.int64())))
        tables.append(table.filter(keep).select(schema.names))
    whole = pa.concat_tables(tables).sort_by([("activity_id", "ascending")])
    return pa.Table.from_arrays(whole.columns, schema=schema)


@pytest.mark.parametrize(("sources", "rows", "slice_rows", "seed"), [(1, 40, 7, 1), (3, 60, 16, 2), (5, 50, 1, 3)])
def test_slices_give_the_rows_of_the_whole_tables_in_key_order(
    schemas, tmp_path, monkeypatch, sources, rows, slice_rows, seed
):
    monkeypatch.setattr(across, "RUN_BATCH_ROWS", 5)  # a range of a sorted source spans several batches
    path, duplicates = _project(tmp_path, sources, rows, seed)
    config = load_config(path, schemas, environ={})
    prepared = [prepare_source(s, [Path(s.url)], schemas, tmp_path / "work") for s in config.sources]
    scrubber = FreeTextScrubber(schemas, {s.source_id: "BE" for s in config.sources})
    assembly = across.assemble(config, schemas, prepared, scrubber)

    repeated = [f for f in assembly.findings if f.rule == "primary-key"]
    assert {f.value for f in repeated} == duplicates  # a later source's repeat of a key is rejected
    assert all(f.position and f.row is not None for f in repeated)
    activities = assembly.resources["activities"]
    sliced = pa.concat_tables(list(activities.slices(rows=slice_rows)))
    whole, removals = scrub_free_text(
        {"activities": _whole(schemas, prepared, assembly.findings)},
        schemas,
        {s.source_id: "BE" for s in config.sources},
    )
    assert sliced.equals(whole["activities"])
    assert sliced.schema.equals(whole["activities"].schema, check_metadata=True)
    assert activities.num_rows == sliced.num_rows
    assert scrubber.removals() == removals  # the same removals, in the same order (field, then key)
    assert removals  # the titles held personal data to remove


def test_a_finding_across_sources_names_the_row_and_position_the_partner_knows(schemas, tmp_path):
    path, _ = _project(tmp_path, 2, 30, 4)
    config = load_config(path, schemas, environ={})
    prepared = [prepare_source(s, [Path(s.url)], schemas, tmp_path / "work") for s in config.sources]
    assembly = across.assemble(config, schemas, prepared)
    for finding in assembly.findings:
        staged = read_staged(next(p for p in prepared if p.source_id == finding.source_id).staged["activities"])
        at = pc.index(staged.column(ROW), finding.row).as_py()
        assert staged.column(POSITION)[at].as_py() == finding.position
        assert staged.column(finding.field)[at].as_py() == finding.value
