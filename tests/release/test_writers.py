"""The CSV writer gives the bytes of Python's csv module, however the cells look.

One deliberate difference: Python 3.11's writer leaves a lone carriage return unquoted when
the line end is "\n"; partnerdata quotes it, as RFC 4180 readers take it for a line break."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerdata.release import write as writers

TEXT = st.text(alphabet=st.sampled_from(["a", "é", " ", ",", ";", '"', "\n", "\r", "'", "\t", "€", "0"]), max_size=6)


def by_csv_module(table: pa.Table, path, delimiters: dict[str, str]) -> None:
    """What write_csv wrote before it was built on Arrow: every cell through csv.writer."""
    rows = []
    for row in table.to_pylist():
        cells = []
        for name, value in row.items():
            if isinstance(value, list):
                value = delimiters[name].join(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, dt.datetime):
                value = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # Arrow's %S has the microseconds
            elif isinstance(value, float):
                value = pa.array([value]).cast(pa.string())[0].as_py()
            cells.append("" if value is None else str(value))
        rows.append(cells)
    with open(path, "w", encoding="utf-8", newline="") as out:
        for row in [table.column_names, *rows]:  # "\r\n" makes the writer quote a "\r" too
            line = io.StringIO()
            csv.writer(line, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(row)
            out.write(line.getvalue().removesuffix("\r\n") + "\n")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), TEXT),
            st.one_of(st.none(), st.integers(-(2**40), 2**40)),
            st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
            st.one_of(st.none(), st.booleans()),
            st.one_of(st.none(), st.dates()),
            st.one_of(st.none(), st.lists(TEXT, max_size=3)),
            st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1000, 1, 1), timezones=st.just(dt.UTC))),
        ),
        max_size=30,
    ),
    st.integers(1, 7),
)
def test_the_bytes_are_those_of_the_csv_module(tmp_path_factory, rows, slice_rows):
    folder = tmp_path_factory.mktemp("csv")
    names = ["text", "count", "hours", "open", "day", "groups", "at"]
    types = [
        pa.string(),
        pa.int64(),
        pa.float64(),
        pa.bool_(),
        pa.date32(),
        pa.list_(pa.string()),
        pa.timestamp("us", "UTC"),
    ]
    table = pa.table({n: pa.array([r[i] for r in rows], t) for i, (n, t) in enumerate(zip(names, types, strict=True))})
    writers.CSV_SLICE_ROWS, before = slice_rows, writers.CSV_SLICE_ROWS
    try:
        writers.write_csv(table, folder / "arrow.csv", {"groups": ";"})
    finally:
        writers.CSV_SLICE_ROWS = before
    by_csv_module(table, folder / "python.csv", {"groups": ";"})
    assert (folder / "arrow.csv").read_bytes() == (folder / "python.csv").read_bytes()


@given(st.lists(st.one_of(st.none(), TEXT), max_size=8))
@settings(max_examples=100, deadline=None)
def test_a_table_of_one_column_keeps_its_empty_rows(tmp_path_factory, cells):
    folder = tmp_path_factory.mktemp("csv")
    table = pa.table({"only": pa.array(cells, pa.string())})
    writers.write_csv(table, folder / "arrow.csv", {})
    by_csv_module(table, folder / "python.csv", {})
    assert (folder / "arrow.csv").read_bytes() == (folder / "python.csv").read_bytes()


def test_a_slice_of_a_column_is_searched_for_what_needs_quotes_in_its_own_cells_only():
    cells = pa.array(["a,b", "plain", 'say "hi"', "", "line\nbreak", "end"])
    assert [writers._holds_special(cells.slice(i, 1)) for i in range(6)] == [True, False, True, False, True, False]
    assert not writers._holds_special(cells.slice(1, 0)) and not writers._holds_special(cells.slice(5))
    assert writers._holds_special(cells.slice(3, 2)) and not writers._holds_special(pa.array([None, ""], pa.string()))
