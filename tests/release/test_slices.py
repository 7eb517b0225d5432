"""A release written and compared a slice at a time is the one of the whole tables: the same
CSV and Parquet bytes, the same keyed diff."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerdata.release import diff as diffs
from partnerdata.release import write as writers

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), metadata={"description": "the key"}),
        pa.field("title", pa.string()),
        pa.field("day", pa.date32()),
        pa.field("groups", pa.list_(pa.string())),
        pa.field("count", pa.int64()),
    ],
    metadata={"resource": "test"},
)


def _table(rows: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    return pa.table(
        {
            "id": [f"K{i:05d}" for i in range(rows)],
            "title": [rng.choice([None, "a", 'say "hi", twice', "line\nbreak", "é"]) for _ in range(rows)],
            "day": pa.array([rng.choice([None, 18000, 19000]) for _ in range(rows)], pa.int32()).cast(pa.date32()),
            "groups": [rng.choice([None, [], ["x"], ["x", "y"]]) for _ in range(rows)],
            "count": [rng.choice([None, 0, 7, -3]) for _ in range(rows)],
        },
        schema=SCHEMA,
    )


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 60), cuts=st.lists(st.integers(0, 60), max_size=6), group=st.integers(1, 9))
def test_a_resource_written_in_slices_has_the_bytes_of_the_whole_table(tmp_path_factory, rows, cuts, group):
    folder = tmp_path_factory.mktemp("slices")
    table = _table(rows, rows)
    bounds = sorted({0, rows, *(c for c in cuts if c <= rows)})
    slices = [table.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)]
    before = writers.ROW_GROUP_SIZE
    writers.ROW_GROUP_SIZE = group  # several row groups, cut across the slices
    try:
        csv_sha256 = writers.write_csv(table, folder / "whole.csv", {"groups": ";"})
        writers.write_parquet(table, folder / "whole.parquet")
        written, sliced_sha256 = writers.write_resource(
            slices, SCHEMA, folder / "sliced.csv", folder / "sliced.parquet", {"groups": ";"}
        )
    finally:
        writers.ROW_GROUP_SIZE = before
    assert written == rows
    assert sliced_sha256 == csv_sha256
    assert (folder / "sliced.csv").read_bytes() == (folder / "whole.csv").read_bytes()
    assert (folder / "sliced.parquet").read_bytes() == (folder / "whole.parquet").read_bytes()


def _changed(old: pa.Table, seed: int) -> pa.Table:
    """Some records removed, some added, some values changed; sorted by key as a release is."""
    rng = random.Random(seed)
    kept = old.filter(pa.array([rng.random() > 0.1 for _ in range(old.num_rows)]))
    added = _table(30, seed + 1).set_column(0, "id", pa.array([f"K{50_000 + i:05d}" for i in range(30)]))
    new = pa.concat_tables([kept, added]).sort_by("id")
    titles = new.column("title").to_pylist()
    counts = new.column("count").to_pylist()
    for i in rng.sample(range(new.num_rows), 25):
        titles[i], counts[i] = rng.choice(["changed", None, "a"]), rng.choice([None, 1, 7])
    return new.set_column(1, SCHEMA.field("title"), pa.array(titles)).set_column(
        4, SCHEMA.field("count"), pa.array(counts)
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_diff_read_from_parquet_in_slices_is_the_diff_of_the_whole_tables(tmp_path, monkeypatch, seed):
    old = _table(400, seed)
    new = _changed(old, seed)
    pq.write_table(old, tmp_path / "old.parquet", row_group_size=37)
    pq.write_table(new, tmp_path / "new.parquet", row_group_size=23)
    keys, references = {"test": ["id"]}, {}
    whole = diffs.data_changes({"test": old}, {"test": new}, keys, references)
    monkeypatch.setattr(diffs, "DIFF_SLICE_ROWS", 17)
    monkeypatch.setattr(diffs, "MAX_CHANGED_RECORDS", 1000)
    sliced = diffs.data_changes(
        {"test": diffs.ParquetColumns(tmp_path / "old.parquet")},
        {"test": diffs.ParquetColumns(tmp_path / "new.parquet")},
        keys,
        references,
    )
    monkeypatch.setattr(diffs, "DIFF_SLICE_ROWS", 10**6)
    assert sliced == diffs.data_changes({"test": old}, {"test": new}, keys, references)
    counts = sliced[1]["test"]["counts"]
    assert counts["added"] == 30 and counts["removed"] > 0 and counts["changed"] > 0
    assert whole[1]["test"]["counts"] == counts  # the cap lists fewer records, the counts are complete


def test_rows_at_reads_the_rows_asked_for_in_the_order_asked(tmp_path):
    table = _table(100, 5)
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=9)
    rows = np.array([97, 3, 50, 3, 8, 9, 0])
    assert (
        diffs.ParquetColumns(tmp_path / "t.parquet")
        .rows_at(["id", "groups"], rows)
        .equals(table.select(["id", "groups"]).take(pa.array(rows)))
    )
