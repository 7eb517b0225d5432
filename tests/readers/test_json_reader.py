"""The JSON reader's bulk path (Arrow) gives exactly the table of the record-by-record path."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from partnerdata.errors import PartnerFileError
from partnerdata.readers import json_reader
from partnerdata.readers.limits import DEFAULT_LIMITS

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abc."), inner, max_size=3)),
    max_leaves=6,
)
# Records of one shape, as an API sends them, with the odd missing key or null.
UNIFORM = st.fixed_dictionaries(
    {
        "id": st.integers(0, 10**6),
        "name": st.one_of(st.none(), st.text(max_size=8)),
        "hours": st.one_of(st.none(), st.integers(0, 50), st.floats(0, 50, allow_nan=False)),
        "place": st.fixed_dictionaries({"city": st.text(max_size=5), "country": st.sampled_from(["BE", "KE"])}),
        "tags": st.one_of(st.none(), st.lists(st.text(max_size=4), max_size=3), st.lists(st.none(), max_size=2)),
        "open": st.booleans(),
    },
    optional={"note": st.text(max_size=5), "counts": st.lists(st.integers(-5, 5), max_size=3)},
)


def record_by_record(records: list, separator: str) -> dict[str, list[str]]:
    return json_reader._text_columns(records, separator, "records", DEFAULT_LIMITS).to_pydict()


def bulk(records: list, separator: str) -> dict[str, list[str]] | None:
    table = json_reader._arrow_flat(records, separator)
    return None if table is None else table.to_pydict()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "a.b"]), VALUES, max_size=4), min_size=1, max_size=6))
def test_the_bulk_path_agrees_or_steps_aside_on_any_records(records):
    records = json.loads(json.dumps(records))  # what json.loads gives: no tuples, str keys
    fast = bulk(records, ";")
    if fast is not None:
        assert fast == record_by_record(records, ";")


@settings(max_examples=200, deadline=None)
@given(st.lists(UNIFORM, min_size=1, max_size=8))
def test_the_bulk_path_takes_records_of_one_shape(records):
    fast = bulk(records, ", ")
    assert fast is not None
    assert fast == record_by_record(records, ", ")


def test_pages_are_read_in_order_with_positions_naming_the_page(tmp_path):
    pages = []
    for number, ids in enumerate([[1, 2], [3]], start=1):
        page = tmp_path / f"page-{number}.json"
        page.write_text(json.dumps({"data": [{"id": i, "tags": ["x", "y"]} for i in ids]}))
        pages.append(page)
    options = json_reader.parse_options({"record_path": "data"}, "test")
    (read,) = json_reader.read(pages, options, ";")
    assert read.table.to_pydict() == {"id": ["1", "2", "3"], "tags": ["x;y", "x;y", "x;y"]}
    assert pa.array(read.positions).to_pylist() == ["page 1 data[0]", "page 1 data[1]", "page 2 data[0]"]


def test_a_record_that_is_not_an_object_is_named_by_page_and_index(tmp_path):
    first, second = tmp_path / "page-1.json", tmp_path / "page-2.json"
    first.write_text(json.dumps([{"id": 1}]))
    second.write_text(json.dumps([{"id": 2}, 7]))
    options = json_reader.parse_options({}, "test")
    try:
        json_reader.read([first, second], options, ";")
    except PartnerFileError as error:
        assert str(error) == "page 2 records[1] is a int, not an object"
    else:
        raise AssertionError("a number among the records was taken")


def test_pages_read_one_by_one_give_the_table_of_all_records_at_once(tmp_path):
    """Page 1 takes the bulk path; page 2 (a number given as text once) the careful one; a key
    only page 2 has is empty on page 1."""
    pages = [
        [{"id": 1, "hours": 2.5, "place": {"city": "Geel"}}, {"id": 2, "hours": 3, "place": {"city": "Lima"}}],
        [{"id": 3, "hours": "4", "place": {"city": "Quito"}, "note": "late"}, {"id": 4, "hours": None}],
    ]
    paths = []
    for number, records in enumerate(pages, start=1):
        paths.append(tmp_path / f"page-{number}.json")
        paths[-1].write_text(json.dumps(records))
    (read,) = json_reader.read(paths, json_reader.parse_options({}, "test"), ";")
    assert json_reader._arrow_flat(pages[0], ";") is not None and json_reader._arrow_flat(pages[1], ";") is None
    assert read.table.to_pydict() == record_by_record(pages[0] + pages[1], ";")


def test_a_page_of_empty_records_keeps_its_rows(tmp_path):
    pages = [[{}, {}], [{"id": "A"}, {"id": "B"}]]
    paths = []
    for number, records in enumerate(pages, start=1):
        paths.append(tmp_path / f"page-{number}.json")
        paths[-1].write_text(json.dumps(records))
    (read,) = json_reader.read(paths, json_reader.parse_options({}, "test"), ";")
    assert read.table.to_pydict() == {"id": ["", "", "A", "B"]} == record_by_record(pages[0] + pages[1], ";")
    assert len(read.positions) == read.table.num_rows == 4


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\x00", '"', "\\"]), max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_a_document_loads_as_json_loads_builds_it(tmp_path_factory, value):
    """orjson reads most pages (twice as fast); where it would build something else (an integer past
    64 bits as a float) or refuses what json reads (NaN, 1e400, a lone surrogate), json.loads does."""
    path = tmp_path_factory.mktemp("json") / "page.json"
    path.write_bytes(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    expected = json.loads(path.read_bytes().decode("utf-8", "surrogatepass"))
    try:
        loaded = json_reader.load_document(path, "utf-8", DEFAULT_LIMITS.start())
    except PartnerFileError:  # a lone surrogate written as UTF-8 bytes is not UTF-8: refused as before
        assert "\ud800" in json.dumps(value, ensure_ascii=False)
        return
    assert json.dumps(loaded, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert repr(loaded) == repr(expected)  # the same types too: 2**70 stays an integer


def test_a_long_integer_keeps_every_digit(tmp_path):
    path = tmp_path / "page.json"
    path.write_text('[{"id": 123456789012345678901234567890, "n": 9223372036854775808}]', encoding="utf-8")
    assert json_reader.load_document(path, "utf-8", DEFAULT_LIMITS.start()) == [
        {"id": 123456789012345678901234567890, "n": 9223372036854775808}
    ]


PAGES = st.one_of(
    st.lists(JSON_VALUES, max_size=5),
    st.dictionaries(
        st.sampled_from(["data", "links", "meta", "items"]),
        st.one_of(
            JSON_VALUES,
            st.lists(JSON_VALUES, max_size=5),
            st.dictionaries(
                st.sampled_from(["next", "rows"]), st.one_of(JSON_VALUES, st.lists(JSON_VALUES)), max_size=2
            ),
        ),
        max_size=4,
    ),
)


@settings(max_examples=300, deadline=None)
@given(PAGES, st.sampled_from(["", "data", "links.rows", "meta.data"]), st.sampled_from([None, "links.next", "next"]))
def test_the_outline_of_a_page_is_what_its_document_says(tmp_path_factory, page, record_path, next_path):
    """The fetcher follows pages by their outline (records counted, the next link), read without
    building the records: the same answers as the document json.loads builds, or the same refusal."""
    path = tmp_path_factory.mktemp("json") / "page.json"
    path.write_bytes(json.dumps(page, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    limits = DEFAULT_LIMITS.start()
    try:
        document = json_reader.load_document(path, "utf-8", limits, "page 1")
    except PartnerFileError as error:
        with pytest.raises(PartnerFileError) as refused:
            json_reader.page_outline(path, "utf-8", limits, record_path, next_path, "page 1")
        assert str(refused.value) == str(error)
        return
    records = json_reader._node_at(document, record_path)
    expected = (
        len(records) if isinstance(records, list) else 0,
        json_reader._node_at(document, next_path) if next_path else None,
    )
    assert repr(json_reader.page_outline(path, "utf-8", limits, record_path, next_path, "page 1")) == repr(expected)


def test_a_page_with_a_broken_record_is_refused_by_its_outline_as_by_the_reader(tmp_path):
    path = tmp_path / "page.json"
    path.write_bytes(b'{"data": [{"id": 1}, {"id": tru}], "next": "?page=2"}')
    with pytest.raises(PartnerFileError, match="page 3: not valid JSON"):
        json_reader.page_outline(path, "utf-8", DEFAULT_LIMITS.start(), "data", "next", "page 3")
    path.write_bytes(b'{"data": [{"id": "caf\xe9"}]}')  # Latin-1 in a UTF-8 page
    with pytest.raises(PartnerFileError, match="not valid utf-8"):
        json_reader.page_outline(path, "utf-8", DEFAULT_LIMITS.start(), "data", None, "page 1")


# ----------------------------------------------------------------------------- Arrow's parser


def python_page(path, record_path: str, separator: str):
    """The page as the reader reads it with Python's objects: (table, count), or the refusal."""
    try:
        return json_reader._python_page(path, "utf-8", record_path, separator, DEFAULT_LIMITS.start(), "", "records")
    except PartnerFileError as error:
        return error


def agrees_or_steps_aside(octets: bytes, path, record_path: str, separator: str) -> bool:
    """Arrow's page, where it gives one, is the table and count Python's objects give; True when it gave one."""
    path.write_bytes(octets)
    fast = json_reader._arrow_page(octets, record_path, separator, DEFAULT_LIMITS.start())
    if fast is None:
        return False
    slow = python_page(path, record_path, separator)
    assert not isinstance(slow, PartnerFileError), f"Arrow read what the reader refuses: {slow}"
    assert fast[1] == slow[1]
    assert fast[0].schema == slow[0].schema  # the same columns in the same order, all text
    assert fast[0].to_pydict() == slow[0].to_pydict()
    return True


RECORD_PATHS = st.sampled_from(["", "data", "meta.rows"])


def paged(records: list, record_path: str) -> object:
    page: object = records
    for step in reversed(record_path.split(".") if record_path else []):
        page = {step: page, "links": {"next": "?page=2"}}
    return page


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "a.b"]), JSON_VALUES, max_size=4), max_size=6),
    RECORD_PATHS,
    st.booleans(),
)
def test_arrows_page_is_pythons_or_steps_aside_on_any_records(tmp_path_factory, records, record_path, ascii_only):
    """Any records (any JSON values, integers past 64 bits, NaN, lone surrogates, nested lists and
    objects), escaped or not: Arrow's table is the one Python's objects give, or it steps aside."""
    text = json.dumps(paged(records, record_path), ensure_ascii=ascii_only)
    octets = text.encode("utf-8", "surrogatepass")
    agrees_or_steps_aside(octets, tmp_path_factory.mktemp("json") / "page.json", record_path, ";")


DATES = (
    st.dates().map(str)
    | st.datetimes().map(lambda t: t.isoformat(timespec="seconds"))
    | st.just("2015-03-01T10:00:00Z")
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.integers(0, 10**6),
                "name": st.one_of(st.none(), st.text(max_size=8)),
                "hours": st.one_of(st.none(), st.integers(0, 50), st.floats(0, 50, allow_nan=False)),
                "period": st.fixed_dictionaries({"start": DATES, "end": st.one_of(st.none(), DATES)}),
                "tags": st.one_of(st.lists(st.text(max_size=4), max_size=3), st.lists(DATES, max_size=2)),
                "open": st.booleans(),
            },
            optional={"note": st.text(max_size=5), "counts": st.lists(st.integers(-5, 5), max_size=3)},
        ),
        min_size=1,
        max_size=8,
    ),
    RECORD_PATHS,
)
def test_arrow_reads_a_page_of_records_of_one_shape(tmp_path_factory, records, record_path):
    """Records of one shape, as APIs send them (dates and timestamps as text among them: Arrow would
    take them for timestamps, they are read again as text): Arrow reads the page, as Python would."""
    octets = json.dumps(paged(records, record_path)).encode()
    assert agrees_or_steps_aside(octets, tmp_path_factory.mktemp("json") / "page.json", record_path, ", ")


@pytest.mark.parametrize(
    "records",
    [
        [{"a": [None, None]}, {"a": [False]}],  # Arrow 26 loses the two nulls: its offsets then overrun the items
        [{"a": [None]}, {"a": [None]}, {"a": [1, None]}, {"a": [None, 2.5]}],
        [{"a": [[None]]}, {"a": [[1], []]}, {"a": None}],
        [{"a": None}, {"a": {"b": [None]}}, {"a": {"b": [2]}}],
    ],
)
def test_arrays_whose_items_are_null_at_first_are_read_as_python_reads_them(tmp_path, records):
    agrees_or_steps_aside(json.dumps({"data": records}).encode(), tmp_path / "page.json", "data", ";")


VALID_PAGE = json.dumps(
    {"data": [{"id": 1, "n": 2.5, "t": ["x", "y"], "p": {"c": "Geel"}}, {"id": 2, "n": -3, "t": [], "p": {"c": "é"}}]}
).encode()


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID_PAGE)), st.sampled_from(list(b'{}[],:"\\ 0123456789.eE+-tnfu\x01\x7f'))),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_arrow_never_reads_a_broken_page_that_json_refuses(tmp_path_factory, edits, insert):
    """A page with a byte or three changed (a quote lost, a comma doubled, a number cut): where
    Arrow gives a table, json.loads read the same page and the reader gives the same table."""
    octets = bytearray(VALID_PAGE)
    for at, byte in edits:
        if insert or at == len(octets):
            octets[at:at] = bytes([byte])
        else:
            octets[at] = byte
    agrees_or_steps_aside(bytes(octets), tmp_path_factory.mktemp("json") / "page.json", "data", ";")


def test_timestamps_and_long_integers_keep_the_partners_text(tmp_path):
    page = tmp_path / "page.json"
    page.write_text(
        '{"data": [{"at": "2015-03-01", "when": "2015-03-01T10:00:00Z", "n": 9007199254740993, "x": 1.5},'
        ' {"at": "2016-01-02", "when": "2015-03-01 10:00:00", "n": 2.5, "x": 2}]}'
    )
    (read,) = json_reader.read([page], json_reader.parse_options({"record_path": "data"}, "test"), ";")
    assert read.table.to_pydict() == {
        "at": ["2015-03-01", "2016-01-02"],
        "when": ["2015-03-01T10:00:00Z", "2015-03-01 10:00:00"],
        "n": ["9007199254740993", "2.5"],  # a double would have made it ...992: Python's objects read it
        "x": ["1.5", "2"],
    }
    assert (
        json_reader._arrow_page(page.read_bytes(), "data", ";", DEFAULT_LIMITS.start()) is None
    )  # stepped aside for n


DEEP_PAGE = """
import sys
from pathlib import Path
from partnerdata.errors import PartnerFileError
from partnerdata.readers import json_reader
from partnerdata.readers.limits import DEFAULT_LIMITS
page = Path(sys.argv[1])
sys.setrecursionlimit(int(sys.argv[2]))
print(json_reader._arrow_page(page.read_bytes(), "data", ";", DEFAULT_LIMITS.start()))
sys.setrecursionlimit(1_000)  # else json.loads itself overflows the C stack
try:
    json_reader.read([page], json_reader.parse_options({"record_path": "data"}, "test"), ";")
except PartnerFileError as error:
    print(error)
"""


@pytest.mark.parametrize("recursion_limit", [1_000, 4_000, 100_000])
def test_a_page_nested_too_deep_for_arrows_parser_is_refused_without_a_crash(tmp_path, recursion_limit):
    """Arrow's parser would overflow the C stack on 40,000 levels (a segmentation fault ends the
    run), and msgspec reads them when the recursion limit is 100,000: such a page never reaches
    Arrow, whatever Python's recursion limit (in a process of its own, so that a crash fails this
    test alone)."""
    page = tmp_path / "page.json"
    page.write_bytes(b'{"data": [{"a": ' + b'{"b": [' * 20_000 + b"1" + b"]}" * 20_000 + b"}]}")
    done = subprocess.run(
        [sys.executable, "-c", DEEP_PAGE, str(page), str(recursion_limit)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stepped_aside, refusal = done.stdout.splitlines()
    assert stepped_aside == "None"
    assert "nested more than" in refusal


KINDS = {
    "int": st.integers(0, 99),
    "float": st.floats(0, 9, allow_nan=False),
    "text": st.text(max_size=3),
    "date": DATES,
    "list": st.lists(st.text(max_size=2), max_size=2),
    "place": st.fixed_dictionaries(
        {}, optional={"city": st.text(max_size=3), "zip": st.text(max_size=2), "since": DATES}
    ),
}


@st.composite
def api_pages(draw):
    """Pages of an API: each key has one kind of value (so that Arrow reads them), but a page may lack
    some keys, have others first, in another order, or null."""
    kinds = draw(
        st.dictionaries(
            st.sampled_from(["id", "name", "when", "place", "tags", "note"]), st.sampled_from(list(KINDS)), min_size=1
        )
    )
    pages = []
    for _ in range(draw(st.integers(2, 4))):
        records = []
        for _ in range(draw(st.integers(0, 3))):
            keys = draw(st.permutations(list(kinds)))[: draw(st.integers(0, len(kinds)))]
            records.append(
                {
                    key: draw(KINDS[kinds[key]] | st.none()) if kinds[key] != "place" else draw(KINDS["place"])
                    for key in keys
                }
            )
        pages.append(records)
    return pages


@settings(max_examples=200, deadline=None)
@given(api_pages())
@example(pages=[[{"id": 1, "place": {"city": "a"}}], [{"note": "n", "place": {"zip": "z", "city": "c"}, "id": 2}]])
def test_an_apis_pages_read_with_the_types_of_the_page_before_give_what_python_gives(tmp_path_factory, pages):
    """Each page first tries the types Arrow read the page before with: pages whose fields come and go,
    change type or order give the table and positions Python's objects give, page by page."""
    folder = tmp_path_factory.mktemp("pages")
    paths = []
    for number, records in enumerate(pages, start=1):
        paths.append(folder / f"page-{number}.json")
        paths[-1].write_text(json.dumps({"data": records, "meta": {"page": number}}))
    options = json_reader.parse_options({"record_path": "data"}, "test")
    try:
        (expected,) = json_reader.read(paths, options, ";")
    except PartnerFileError as error:
        expected = error
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_reader, "_arrow_page", lambda *args: None)
        try:
            (python,) = json_reader.read(paths, options, ";")
        except PartnerFileError as error:
            assert str(expected) == str(error)
            return
    assert expected.table.schema == python.table.schema
    assert expected.table.to_pydict() == python.table.to_pydict()
    assert pa.array(expected.positions).to_pylist() == pa.array(python.positions).to_pylist()


def test_the_next_page_is_read_once_with_the_types_of_the_one_before(tmp_path, monkeypatch):
    pages = []
    for number in (1, 2):
        pages.append(tmp_path / f"page-{number}.json")
        records = [{"id": i, "period": {"start": "2015-03-01"}, "tags": ["x"]} for i in range(3)]
        pages[-1].write_text(json.dumps({"data": records, "meta": {"page": number}}))
    reads = []
    real = json_reader._read_json
    monkeypatch.setattr(
        json_reader, "_read_json", lambda document, schema: reads.append(schema) or real(document, schema)
    )
    (read,) = json_reader.read(pages, json_reader.parse_options({"record_path": "data"}, "test"), ";")
    assert read.table.column("period.start").to_pylist() == ["2015-03-01"] * 6
    assert [schema is None for schema in reads] == [True, False, False]  # page 1: inferred, then as text; page 2: once


def test_a_page_nested_deeper_than_python_walks_its_types_is_refused_by_max_depth(tmp_path):
    """800 levels: msgspec and Arrow read them, but walking Arrow's types for dates to read again as
    text would pass Python's recursion limit: the page goes to the Python path, which names max_depth."""
    page = tmp_path / "page.json"
    page.write_bytes(b'{"data": [{"a": ' + b'{"b": [' * 400 + b'"2015-01-01"' + b"]}" * 400 + b"}]}")
    with pytest.raises(PartnerFileError, match="deeper than max_depth"):
        json_reader.read([page], json_reader.parse_options({"record_path": "data"}, "test"), ";")
