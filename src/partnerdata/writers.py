"""Write a resource as CSV and Parquet: same rows, same order, deterministic bytes."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW_GROUP_SIZE = 128 * 1024


def write_csv(table: pa.Table, path: Path, list_delimiters: dict[str, str]) -> None:
    """UTF-8, a header row, minimal quoting, ISO dates, lists joined by their schema delimiter."""
    columns = []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_list(column.type):
            column = pc.binary_join(column, list_delimiters[name])
        elif pa.types.is_boolean(column.type):
            column = pc.if_else(column, "true", "false")
        elif pa.types.is_timestamp(column.type):  # ISO 8601 in UTC, as frictionless reads a datetime
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        elif not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        columns.append(column.to_pylist())
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(table.column_names)
        writer.writerows(zip(*columns, strict=False))


def write_parquet(table: pa.Table, path: Path) -> None:
    """zstd, row groups of 128 Ki rows, the schema's field descriptions kept as field metadata."""
    pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP_SIZE, write_statistics=True)
