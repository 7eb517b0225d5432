"""The streaming XLSX reader: the same tables as the openpyxl-based reader it replaced, and bounded
refusals (quick, in little memory) of hostile and broken workbooks."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.errors import LimitExceeded, PartnerFileError
from partnerdata.readers import xlsx_reader
from partnerdata.readers.base import position_list
from partnerdata.readers.guard import UnreadableFile
from partnerdata.readers.limits import Limits

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOCUMENT_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DEMO_WORKBOOKS = sorted((PROJECT_ROOT / "demo" / "partners").rglob("*.xlsx"))


# --- the oracle: the reader as it was, on openpyxl (read_only, data_only) -------------------------------


def openpyxl_read(path: Path, options: dict[str, Any]) -> tuple[dict[str, list[str]], list[str], dict[str, Any]]:
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet_name = options["sheet"] or workbook.sheetnames[0]
        if sheet_name not in workbook.sheetnames:
            raise ValueError(f"the workbook has no sheet '{sheet_name}' (sheets: {', '.join(workbook.sheetnames)})")
        rows = workbook[sheet_name].iter_rows(min_row=options["header_row"], values_only=True)
        header_cells = next(rows, None)
        if header_cells is None:
            raise ValueError(f"sheet '{sheet_name}' has no row {options['header_row']} (the header row)")
        header = [old_text(cell).strip() or f"(column {i + 1})" for i, cell in enumerate(header_cells)]
        while header and header[-1].startswith("(column "):
            header.pop()
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"sheet '{sheet_name}': the header row names column(s) {', '.join(duplicates)} more than once"
            )
        columns: list[list[str]] = [[] for _ in header]
        positions = []
        for offset, cells in enumerate(rows, start=options["header_row"] + 1):
            texts = [old_text(cell) for cell in cells[: len(header)]]
            if not any(text.strip() for text in texts):
                continue
            texts += [""] * (len(header) - len(texts))
            for column, text in zip(columns, texts, strict=False):
                column.append(text)
            positions.append(f"sheet {sheet_name} row {offset}")
    finally:
        workbook.close()
    return dict(zip(header, columns, strict=True)), positions, {"sheet": sheet_name}


def old_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)


def new_read(path: Path, options: dict[str, Any], limits: Limits | None = None):
    (read,) = xlsx_reader.read([path], options, ";", *([limits] if limits else []))
    assert all(column.type == pa.string() for column in read.table.columns)
    return read.table.to_pydict(), position_list(read), dict(read.detected)


def assert_same_as_openpyxl(path: Path, options: dict[str, Any]) -> None:
    try:
        expected = openpyxl_read(path, options)
    except ValueError as error:  # the old reader's refusals: the new one refuses with the same words
        with pytest.raises(PartnerFileError) as refused:
            new_read(path, options)
        assert str(refused.value) == str(error)
        return
    assert new_read(path, options) == expected


# --- workbooks written by openpyxl, with hypothesis ---------------------------------------------------

TEXTS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"), max_size=12).filter(
    lambda text: not ILLEGAL_CHARACTERS_RE.search(text)
) | st.sampled_from(["", " ", "  a  b ", "line\nbreak", "tab\there", "\r\n", "#N/A", "=1+1", "_x000D_", "1e5"])
VALUES = st.one_of(
    st.none(),
    TEXTS,
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(dt.date(1800, 1, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 31)),
    st.times(),
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=3000)),
)
NUMBER_FORMATS = st.sampled_from(
    ["General", "0.00", "#,##0", "0%", "yyyy-mm-dd", "dd/mm/yyyy hh:mm", "h:mm:ss", "[h]:mm:ss", "mm:ss",
     '"Day "0', "#,##0.00 [$EUR]", "@"]
)  # fmt: skip
SHEET_NAMES = st.lists(
    st.text(st.sampled_from("Ab xé1-_"), min_size=1, max_size=10).map(str.strip).filter(bool),
    min_size=1,
    max_size=3,
    unique_by=str.lower,
)
ROWS = st.lists(st.lists(VALUES, max_size=6), max_size=8)
FORMATTED = st.lists(st.tuples(st.integers(1, 10), st.integers(1, 7), NUMBER_FORMATS), max_size=6)


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]], formats: list, epoch_1904: bool) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    if epoch_1904:
        workbook.epoch = CALENDAR_MAC_1904
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for row, column, number_format in formats:
            sheet.cell(row, column).number_format = number_format
        if rows:
            sheet.cell(len(rows) + 2, 40, None).number_format = "0.00"  # formatting far right, as Excel keeps
    workbook.save(path)


def to_shared_strings(path: Path) -> None:
    """Rewrite openpyxl's inline strings as a shared strings part (as Excel writes them), each string
    as two rich-text runs with a phonetic run, so the shared-string path is read the same way too."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    strings: list[str] = []
    ElementTree.register_namespace("", MAIN)
    for name in [name for name in parts if name.startswith("xl/worksheets/sheet")]:
        root = ElementTree.fromstring(parts[name])
        for cell in root.iter(f"{{{MAIN}}}c"):
            inline = cell.find(f"{{{MAIN}}}is")
            if inline is not None:  # openpyxl writes "" as <c t="inlineStr"/>: that one stays
                text = "".join(t.text or "" for t in inline.iter(f"{{{MAIN}}}t"))
                cell.remove(inline)
                cell.set("t", "s")
                ElementTree.SubElement(cell, f"{{{MAIN}}}v").text = str(len(strings))
                strings.append(text)
        parts[name] = ElementTree.tostring(root)
    items = "".join(
        f'<si><r><t xml:space="preserve">{escape(text[:2])}</t></r><r><rPr><b/></rPr>'
        f'<t xml:space="preserve">{escape(text[2:])}</t></r><rPh sb="0" eb="1"><t>yomi</t></rPh></si>'
        for text in strings
    )
    parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}" count="{len(strings)}">{items}</sst>'.encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>',
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdStrings" Type="{DOCUMENT_RELATIONSHIPS}/sharedStrings" '
        f'Target="sharedStrings.xml"/></Relationships>'.encode(),
    )
    write_zip(path, parts)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date:UserWarning")  # openpyxl's, on dates out of range
@settings(max_examples=60, deadline=None)
@given(
    sheets=SHEET_NAMES.flatmap(lambda names: st.fixed_dictionaries({name: ROWS for name in names})),
    formats=FORMATTED,
    epoch_1904=st.booleans(),
    shared=st.booleans(),
    header_row=st.integers(1, 3),
    pick=st.integers(0, 3),
)
def test_openpyxl_workbooks_read_as_the_openpyxl_reader_read_them(
    sheets, formats, epoch_1904, shared, header_row, pick
):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partner.xlsx"
        write_workbook(path, sheets, formats, epoch_1904)
        if shared:
            to_shared_strings(path)
        names = list(sheets)
        sheet = names[pick] if pick < len(names) else None  # None: the first sheet
        assert_same_as_openpyxl(path, {"sheet": sheet, "header_row": header_row})


@pytest.mark.parametrize("path", DEMO_WORKBOOKS, ids=[path.name for path in DEMO_WORKBOOKS])
def test_the_demo_workbooks_read_as_the_openpyxl_reader_read_them(path):
    for sheet in [None, *load_workbook(path, read_only=True).sheetnames]:
        for header_row in (1, 2):
            assert_same_as_openpyxl(path, {"sheet": sheet, "header_row": header_row})


def test_a_missing_sheet_is_refused_naming_the_sheets(tmp_path):
    path = tmp_path / "partner.xlsx"
    write_workbook(path, {"Info": [["a"]], "Projecten 2024": [["b"]]}, [], False)
    with pytest.raises(
        PartnerFileError, match=r"the workbook has no sheet 'Projecten' \(sheets: Info, Projecten 2024\)"
    ):
        new_read(path, {"sheet": "Projecten", "header_row": 1})
    with pytest.raises(PartnerFileError, match=r"sheet 'Info' has no row 5 \(the header row\)"):
        new_read(path, {"sheet": "Info", "header_row": 5})  # row 3 holds formatting only: it exists


# --- a workbook written by hand: what openpyxl never writes -------------------------------------------------

CONTENT_TYPES = """<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/strings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
ROOT_RELS = f"""<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="{DOCUMENT_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK_RELS = f"""<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="{DOCUMENT_RELATIONSHIPS}/worksheet" Target="/xl/worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{DOCUMENT_RELATIONSHIPS}/sharedStrings" Target="strings.xml"/>
<Relationship Id="rId3" Type="{DOCUMENT_RELATIONSHIPS}/styles" Target="./styles.xml"/>
<Relationship Id="rId4" Type="{DOCUMENT_RELATIONSHIPS}/hyperlink" Target="https://example.org" TargetMode="External"/>
</Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:workbook xmlns:x="{MAIN}" xmlns:r="{DOCUMENT_RELATIONSHIPS}"><x:workbookPr date1904="1"/>
<x:sheets><x:sheet name="Lijst 1" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>"""
STYLES = f"""<styleSheet xmlns="{MAIN}">
<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="[h]:mm"/></numFmts>
<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>
<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="4"/><xf numFmtId="165"/></cellXfs>
</styleSheet>"""
SHARED_STRINGS = f"""<sst xmlns="{MAIN}" count="4" uniqueCount="4"><si><t>Naam</t></si>
<si><r><t>Ri</t></r><r><rPr><b/></rPr><t xml:space="preserve">ch </t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>
<si><t>a_x005F_x000D_b</t></si><si><t xml:space="preserve">  spaced  </t><phoneticPr fontId="1"/></si></sst>"""
HAND_WRITTEN_SHEET = f"""<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:J7"/><x:sheetData>
<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c t="inlineStr"><x:is><x:t>Rijk</x:t></x:is></x:c>
 <x:c t="str"><x:v>Formule</x:v></x:c><x:c r="D1" t="inlineStr"><x:is><x:r><x:t>Fo</x:t></x:r><x:r><x:t>ut</x:t></x:r></x:is></x:c>
 <x:c r="E1" t="inlineStr"><x:is><x:t>Waar</x:t></x:is></x:c><x:c r="F1" t="inlineStr"><x:is><x:t>Datum</x:t></x:is></x:c>
 <x:c r="G1" t="inlineStr"><x:is><x:t>Getal</x:t></x:is></x:c><x:c r="H1" t="inlineStr"><x:is><x:t>Duur</x:t></x:is></x:c>
 <x:c r="I1" t="inlineStr"><x:is><x:t>Iso</x:t></x:is></x:c><x:c r="J1" s="3"/></x:row>
<x:row><x:c t="s"><x:v>2</x:v></x:c><x:c t="s"><x:v>1</x:v></x:c><x:c t="str"><x:f>A2&amp;B2</x:f><x:v>cached text</x:v></x:c>
 <x:c t="e"><x:f>NA()</x:f><x:v>#N/A</x:v></x:c><x:c t="b"><x:v>1</x:v></x:c><x:c s="2"><x:v>1</x:v></x:c>
 <x:c s="3"><x:v>1234.5</x:v></x:c><x:c s="4"><x:v>1.5</x:v></x:c><x:c t="d"><x:v>2024-02-29T10:30:00</x:v></x:c></x:row>
<x:row r="4"><x:c r="A4" t="s"><x:v>3</x:v></x:c><x:c r="B4" t="inlineStr"><x:is><x:t xml:space="preserve"> x </x:t><x:rPh sb="0" eb="1"><x:t>no</x:t></x:rPh></x:is></x:c>
 <x:c r="E4" t="b"><x:v>0</x:v></x:c><x:c r="F4" s="1"><x:v>45000</x:v></x:c><x:c r="G4"><x:v>7</x:v></x:c>
 <x:c r="K4" t="inlineStr"><x:is><x:t>beyond the header</x:t></x:is></x:c></x:row>
<x:row r="5"><x:c r="A5" s="1"/><x:c r="C5" t="inlineStr"><x:is><x:t>   </x:t></x:is></x:c></x:row>
<x:row r="7" spans="1:3"><x:c r="a7"><x:v>1E3</x:v></x:c><x:c r="C7" t="str"><x:v></x:v></x:c><x:c r="XFD7" s="3"/></x:row>
</x:sheetData></x:worksheet>"""
HAND_WRITTEN = {
    "[Content_Types].xml": CONTENT_TYPES,
    "_rels/.rels": ROOT_RELS,
    "xl/workbook.xml": WORKBOOK,
    "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
    "xl/styles.xml": STYLES,
    "xl/strings.xml": SHARED_STRINGS,
    "xl/worksheets/sheet1.xml": HAND_WRITTEN_SHEET,
}


def write_zip(path: Path, parts: dict[str, str | bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


NO_DEFAULT_STYLE = pytest.mark.filterwarnings("ignore:Workbook contains no default style:UserWarning")  # openpyxl's


@NO_DEFAULT_STYLE
def test_a_hand_written_workbook_gives_what_openpyxl_gives(tmp_path):
    path = write_zip(tmp_path / "hand.xlsx", HAND_WRITTEN)
    options = {"sheet": None, "header_row": 1}
    assert new_read(path, options) == openpyxl_read(path, options)
    columns, positions, detected = new_read(path, options)
    assert detected == {"sheet": "Lijst 1"}
    assert positions == ["sheet Lijst 1 row 2", "sheet Lijst 1 row 4", "sheet Lijst 1 row 7"]
    assert {name: values[:2] for name, values in columns.items()} == {
        "Naam": ["a_x000D_b", "  spaced  "],  # shared strings: _x005F_ unescaped as openpyxl does, spaces kept
        "Rijk": ["Rich ", " x "],  # rich-text runs joined, phonetic runs left out
        "Formule": ["cached text", ""],  # a formula's cached result
        "Fout": ["#N/A", ""],
        "Waar": ["true", "false"],
        "Datum": ["1904-01-02", "2027-03-16"],  # 1904 date system: serial 1 is 1904-01-02
        "Getal": ["1234.5", "7"],
        "Duur": ["1 day, 12:00:00", ""],  # a [h]:mm number is a duration
        "Iso": ["2024-02-29T10:30:00", ""],
    }
    assert columns["Naam"][2] == "1000"  # "1E3", in a lower-case reference


@NO_DEFAULT_STYLE
def test_a_sheet_is_found_through_relative_relationships_and_the_header_row_can_be_lower(tmp_path):
    parts = dict(HAND_WRITTEN)
    parts["xl/_rels/workbook.xml.rels"] = WORKBOOK_RELS.replace(
        'Target="/xl/worksheets/sheet1.xml"', 'Target="worksheets/../worksheets/sheet1.xml"'
    )
    path = write_zip(tmp_path / "relative.xlsx", parts)
    options = {"sheet": "Lijst 1", "header_row": 2}
    assert new_read(path, options) == openpyxl_read(path, options)
    columns, positions, _ = new_read(path, options)
    assert positions == ["sheet Lijst 1 row 4", "sheet Lijst 1 row 7"]
    assert list(columns)[:3] == ["a_x000D_b", "Rich", "cached text"]  # header names are stripped


@NO_DEFAULT_STYLE
def test_parts_in_utf_16_are_read(tmp_path):
    parts = dict(HAND_WRITTEN)
    for name in ("xl/worksheets/sheet1.xml", "xl/strings.xml"):
        text = parts[name].replace('encoding="UTF-8"', 'encoding="UTF-16"')
        parts[name] = text.encode("utf-16")
    path = write_zip(tmp_path / "utf16.xlsx", parts)
    options = {"sheet": None, "header_row": 1}
    assert new_read(path, options) == openpyxl_read(path, options)
    assert new_read(path, options)[0]["Rijk"][0] == "Rich "


# --- hostile and broken workbooks ---------------------------------------------------------------------


def plain_sheet(rows: str) -> str:
    return f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'


def workbook_parts(sheet: str | bytes, strings: str | bytes | None = None) -> dict[str, str | bytes]:
    parts: dict[str, str | bytes] = {**HAND_WRITTEN, "xl/worksheets/sheet1.xml": sheet}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace('"Lijst 1"', '"Projecten"')
    if strings is None:
        del parts["xl/strings.xml"]
    else:
        parts["xl/strings.xml"] = strings
    return parts


def refused(path: Path, limits: Limits | None = None, sheet: str | None = None, seconds: float = 10.0):
    """The refusal of a workbook, which must come quickly."""
    started = time.monotonic()
    with pytest.raises(PartnerFileError) as refusal:
        new_read(path, {"sheet": sheet, "header_row": 1}, limits)
    assert time.monotonic() - started < seconds
    return refusal.value


HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Nr</t></is></c><c r="B1" t="inlineStr"><is><t>Titel</t></is></c></row>'
)


def test_shared_strings_that_unpack_past_max_bytes_are_refused(tmp_path):
    strings = f'<sst xmlns="{MAIN}">' + "<si><t>" + "bomb " * 4_000_000 + "</t></si></sst>"  # 20 MB, deflates to 20 kB
    path = write_zip(tmp_path / "bomb.xlsx", workbook_parts(plain_sheet(HEADER), strings))
    assert path.stat().st_size < 100_000
    error = refused(path, Limits(max_bytes=5_000_000).start())
    assert isinstance(error, LimitExceeded) and error.limit == "max_bytes"
    assert "the workbook (its parts up to xl/strings.xml) unpacks to more than max_bytes (5,000,000 bytes)" in str(
        error
    )


def test_more_shared_strings_than_max_cells_are_refused(tmp_path):
    strings = f'<sst xmlns="{MAIN}">' + "<si><t>a</t></si>" * 2_000 + "</sst>"
    path = write_zip(tmp_path / "strings.xlsx", workbook_parts(plain_sheet(HEADER), strings))
    error = refused(path, Limits(max_cells=1_000).start())
    assert isinstance(error, LimitExceeded) and error.limit == "max_cells"
    assert "part xl/strings.xml of the workbook (shared strings) holds more than max_cells (1,000)" in str(error)


def test_a_value_beyond_max_columns_is_refused_and_formatting_there_ignored(tmp_path):
    formatted = '<row r="2"><c r="A2" t="inlineStr"><is><t>1</t></is></c><c r="XFD2" s="3"/></row>'
    far = '<row r="3"><c r="A3"><v>2</v></c><c r="AAA3"><v>9</v></c></row>'  # column 703: beyond the header
    path = write_zip(tmp_path / "formatted.xlsx", workbook_parts(plain_sheet(HEADER + formatted + far)))
    assert new_read(path, {"sheet": None, "header_row": 1})[0] == {"Nr": ["1", "2"], "Titel": ["", ""]}
    value = '<row r="4"><c r="A4"><v>3</v></c><c r="XFD4" t="inlineStr"><is><t>x</t></is></c></row>'
    path = write_zip(tmp_path / "xfd.xlsx", workbook_parts(plain_sheet(HEADER + value)))
    error = refused(path)
    assert isinstance(error, LimitExceeded) and error.limit == "max_columns"
    assert str(error) == "sheet 'Projecten' (cell XFD4 holds a value) has 16,384 columns, more than max_columns (2,000)"


def test_a_header_wider_than_max_columns_is_refused(tmp_path):
    cells = "".join(f'<c t="inlineStr"><is><t>c{number}</t></is></c>' for number in range(30))
    path = write_zip(tmp_path / "wide.xlsx", workbook_parts(plain_sheet(f"<row>{cells}</row>")))
    error = refused(path, Limits(max_columns=20).start())
    assert isinstance(error, LimitExceeded) and error.limit == "max_columns"
    assert "cell U1 holds a value" in str(error)


def test_a_bad_shared_string_index_is_refused_naming_the_cell(tmp_path):
    strings = f'<sst xmlns="{MAIN}">' + "<si><t>s</t></si>" * 120 + "</sst>"
    rows = HEADER + '<row r="7"><c r="A7" t="s"><v>3</v></c><c r="B7" t="s"><v>9999</v></c></row>'
    path = write_zip(tmp_path / "index.xlsx", workbook_parts(plain_sheet(rows), strings))
    assert str(refused(path)) == "sheet 'Projecten' cell B7 refers to shared string 9999, but the workbook has 120"


def test_a_text_in_a_number_cell_is_refused_naming_the_cell(tmp_path):
    path = write_zip(tmp_path / "number.xlsx", workbook_parts(plain_sheet(HEADER + "<row><c><v>12,5</v></c></row>")))
    assert str(refused(path)) == "sheet 'Projecten' cell A2 holds '12,5' where a number should be"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('<row r="3"><c r="A3"><v>1</v></c></row><row r="2"/>', "sheet 'Projecten': row 2 comes after row 3"),
        ('<row r="x"/>', "sheet 'Projecten': a row after row 1 is numbered 'x'"),
        ('<row><c r="2B"><v>1</v></c></row>', "a cell of row 2 is at '2B', which is not a cell reference"),
        ('<row><c r="B"><v>1</v></c></row>', "a cell of row 2 is at 'B', which is not a cell reference"),
        ('<row><c t="b"><v>yes</v></c></row>', "cell A2 holds 'yes' where a boolean"),
        ('<row><c t="d"><v>2024-13-01</v></c></row>', "cell A2 holds '2024-13-01' where an ISO 8601 date"),
        ('<row><c s="x"><v>1</v></c></row>', "cell A2 holds 'x' where a cell format"),
    ],
)
def test_broken_rows_and_cells_are_refused_saying_where(tmp_path, rows, message):
    path = write_zip(tmp_path / "broken.xlsx", workbook_parts(plain_sheet(HEADER + rows)))
    assert message in str(refused(path))


def test_a_cut_off_sheet_is_refused(tmp_path):
    sheet = plain_sheet(HEADER + "<row><c><v>1</v></c></row>" * 100)
    path = write_zip(tmp_path / "cut.xlsx", workbook_parts(sheet[: len(sheet) // 2]))
    assert re.search(r"part xl/worksheets/sheet1.xml of the workbook is not well-formed XML \(cut off\?\): "
                     r"ExpatError: (no element found|unclosed token)", str(refused(path)))  # fmt: skip


def test_a_flipped_byte_in_a_deflated_part_is_refused(tmp_path):
    sheet = plain_sheet(
        HEADER + "".join(f'<row><c t="inlineStr"><is><t>row {n}</t></is></c></row>' for n in range(500))
    )
    path = write_zip(tmp_path / "flipped.xlsx", workbook_parts(sheet))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    content = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", content, info.header_offset + 26)
    content[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(content))
    assert re.search(r"part xl/worksheets/sheet1.xml of the workbook cannot be unpacked \(the zip is damaged\): "
                     r"(error|BadZipFile): ", str(refused(path)))  # fmt: skip


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";" if n > 1 else "&lol;") * 10}">' for n in range(1, 10))
    + f']><worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
)


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/strings.xml", "xl/workbook.xml", "_rels/.rels"])
def test_a_doctype_in_any_part_is_refused(tmp_path, part):
    parts = workbook_parts(plain_sheet(HEADER), SHARED_STRINGS)
    parts[part] = (
        BILLION_LAUGHS
        if part.endswith("sheet1.xml")
        else '<!DOCTYPE x [<!ENTITY e "e">]>' + str(parts[part]).split("?>")[-1]
    )
    path = write_zip(tmp_path / "doctype.xlsx", parts)
    assert f"part {part} of the workbook declares a DOCTYPE" in str(refused(path))


def test_an_external_entity_is_never_loaded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    sheet = f'<!DOCTYPE w [<!ENTITY e SYSTEM "file://{secret}">]>' + plain_sheet(
        HEADER + "<row><c t='inlineStr'><is><t>&e;</t></is></c></row>"
    )
    path = write_zip(tmp_path / "external.xlsx", workbook_parts(sheet))
    assert "declares a DOCTYPE" in str(refused(path))


def test_elements_nested_deeper_than_max_depth_are_refused(tmp_path):
    sheet = f'<worksheet xmlns="{MAIN}">' + "<a>" * 100_000 + "</a>" * 100_000 + "</worksheet>"
    path = write_zip(tmp_path / "deep.xlsx", workbook_parts(sheet))
    error = refused(path)
    assert isinstance(error, LimitExceeded) and error.limit == "max_depth"
    assert str(error) == "part xl/worksheets/sheet1.xml of the workbook is nested deeper than max_depth (64) levels"


def test_a_tag_of_a_million_attributes_is_refused(tmp_path):
    attributes = "".join(f'a{n}="" ' for n in range(700_000))  # 7 MB: a dict of 15 times that, if parsed
    path = write_zip(
        tmp_path / "attributes.xlsx", workbook_parts(plain_sheet(HEADER + f"<row><c {attributes}/></row>"))
    )
    assert str(refused(path)).startswith(
        "part xl/worksheets/sheet1.xml of the workbook holds a tag or comment of more than 4,194,304 bytes"
    )


def test_a_zip_of_too_many_entries_is_refused(tmp_path):
    parts = workbook_parts(plain_sheet(HEADER)) | {f"padding/{n}": b"" for n in range(10_001)}
    path = write_zip(tmp_path / "entries.xlsx", parts, zipfile.ZIP_STORED)
    assert "the workbook's zip declares 10,007 entries" in str(refused(path))
    content = bytearray(path.read_bytes())  # an end record that understates the count: zipfile's list says
    at = content.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", content, at + 8, 7, 7)
    path.write_bytes(bytes(content))
    assert str(refused(path)) == "the workbook's zip holds 10,007 entries, more than 10,000"


@pytest.mark.parametrize("content", [b"Nr;Titel\n1;x\n", b"PK\x03\x04" + b"\x00" * 200, b""])
def test_a_file_that_is_not_a_zip_is_refused(tmp_path, content):
    path = tmp_path / "not.xlsx"
    path.write_bytes(content)
    assert str(refused(path)).startswith("the file is not an XLSX workbook (not a readable zip archive): BadZipFile")


def test_an_entry_that_starts_outside_the_zip_is_refused(tmp_path):
    """An end record whose directory offset is too large makes zipfile shift every entry before the
    file's start (it takes the difference for data prepended to the zip); seeking there is an OSError
    with an errno, which the guard leaves to the machine: the reader must say it is the file's."""
    path = write_zip(tmp_path / "offset.xlsx", workbook_parts(plain_sheet(HEADER)))
    content = bytearray(path.read_bytes())
    end_record = content.rfind(b"PK\x05\x06")
    (directory_offset,) = struct.unpack_from("<I", content, end_record + 16)
    struct.pack_into("<I", content, end_record + 16, directory_offset + 1_000_000)
    path.write_bytes(bytes(content))
    assert str(refused(path)) == (
        "part _rels/.rels of the workbook cannot be unpacked (the zip is damaged): its entry starts outside the file"
    )


def test_a_zip_without_a_workbook_or_without_the_sheet_part_is_refused(tmp_path):
    path = write_zip(tmp_path / "other.xlsx", {"word/document.xml": "<document/>"})
    assert str(refused(path)) == "the zip holds no workbook (no part xl/workbook.xml): not an XLSX file"
    parts = workbook_parts(plain_sheet(HEADER))
    del parts["xl/worksheets/sheet1.xml"]
    path = write_zip(tmp_path / "partless.xlsx", parts)
    assert str(refused(path)) == (
        "the workbook names no part for sheet 'Projecten' (its relationship rId1 leads to no part of the zip)"
    )


def test_a_part_compressed_with_bzip2_is_refused_before_unpacking(tmp_path):
    path = write_zip(tmp_path / "bzip2.xlsx", workbook_parts(plain_sheet(HEADER)), zipfile.ZIP_BZIP2)
    assert "compressed with zip method 12; an XLSX workbook is stored or deflated" in str(refused(path))


def test_more_cells_than_max_cells_are_refused(tmp_path):
    rows = "".join(f"<row><c><v>{n}</v></c><c><v>{n}</v></c></row>" for n in range(100))
    path = write_zip(tmp_path / "cells.xlsx", workbook_parts(plain_sheet(HEADER + rows)))
    assert len(new_read(path, {"sheet": None, "header_row": 1}, Limits(max_cells=200).start())[1]) == 100
    error = refused(path, Limits(max_cells=150).start())
    assert isinstance(error, LimitExceeded) and error.limit == "max_cells"
    assert str(error) == "sheet 'Projecten' holds more than max_cells (150) cells; stopped reading"


def test_reading_stops_at_max_read_seconds(tmp_path):
    path = write_zip(tmp_path / "slow.xlsx", workbook_parts(plain_sheet(HEADER)))
    error = refused(path, Limits(max_read_seconds=1e-9).start())
    assert isinstance(error, LimitExceeded) and error.limit == "max_read_seconds"
    assert "reading took longer than max_read_seconds (1e-09 s); stopped" in str(error)


def test_a_chart_sheet_is_not_a_table(tmp_path):
    parts = workbook_parts(plain_sheet(HEADER))
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        "<x:sheets>", '<x:sheets><x:sheet name="Grafiek" sheetId="2" r:id="rId9"/>'
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        "</Relationships>",
        f'<Relationship Id="rId9" Type="{DOCUMENT_RELATIONSHIPS}/chartsheet" Target="chartsheets/sheet1.xml"/>'
        "</Relationships>",
    )
    parts["xl/chartsheets/sheet1.xml"] = "<chartsheet/>"
    path = write_zip(tmp_path / "chart.xlsx", parts)
    assert new_read(path, {"sheet": None, "header_row": 1})[2] == {"sheet": "Projecten"}  # the first worksheet
    assert str(refused(path, sheet="Grafiek")) == "sheet 'Grafiek' of the workbook is a chart sheet: it has no cells"


# --- fuzzing: any sheet a grammar makes, any flipped byte -----------------------------------------------------
# The reader's own code must be right for every input: it may refuse a file (PartnerFileError), never
# fail otherwise, and a failure inside the parsers' callbacks (which the guard would call the file's
# fault) must come from the parsers themselves.

# Mostly what a workbook holds, now and then what it should not (repetition weights the choice).
NUMBERS = st.sampled_from(["1", "0", "1.5", "-3", "1e3", "45000", "3", "2", " 2 ", "0.25"])
SHEET_TEXTS = st.one_of(NUMBERS, NUMBERS, NUMBERS, st.sampled_from(["", "abc", "2024-01-02", "#N/A", "1e999"]), TEXTS)
RUNS = st.lists(st.tuples(st.sampled_from(["rPr", "t", "t"]), TEXTS), max_size=3)
INLINE = st.lists(
    st.one_of(st.tuples(st.just("t"), TEXTS), st.tuples(st.just("r"), RUNS), st.tuples(st.just("rPh"), TEXTS)),
    max_size=3,
)
CELL_CHILDREN = st.lists(
    st.one_of(
        st.tuples(st.just("v"), SHEET_TEXTS),
        st.tuples(st.just("v"), SHEET_TEXTS),
        st.tuples(st.just("f"), TEXTS),
        st.tuples(st.just("is"), INLINE),
    ),
    max_size=3,
)
CELLS = st.lists(
    st.tuples(
        st.sampled_from([None] * 8 + ["A1", "B2", "a3", "AB1", "AZ9", "D0", "C", "7", "XFD1"]),
        st.sampled_from([None] * 4 + ["n", "s", "s", "inlineStr", "inlineStr", "str", "b", "e", "d", "zz"]),
        st.sampled_from([None] * 8 + ["0", "1", "2", "3", "4", "x", "-1", "99"]),
        CELL_CHILDREN,
    ),
    max_size=5,
)
SHEET_ROWS = st.lists(st.tuples(st.sampled_from([None] * 8 + ["2.0", "x", "1"]), CELLS), max_size=5)


def sheet_xml(rows: list) -> str:
    def attributes(**values: str | None) -> str:
        return "".join(f' {name}="{escape(value)}"' for name, value in values.items() if value is not None)

    def inline(children: list) -> str:
        parts = []
        for name, content in children:
            if name == "r":
                runs = "".join(
                    "<rPr><b/></rPr>" if kind == "rPr" else f"<t>{escape(text)}</t>" for kind, text in content
                )
                parts.append(f"<r>{runs}</r>")
            elif name == "rPh":
                parts.append(f'<rPh sb="0" eb="1"><t>{escape(content)}</t></rPh>')
            else:
                parts.append(f"<t>{escape(content)}</t>")
        return "".join(parts)

    xml = []
    for row_ref, cells in rows:
        xml.append(f"<row{attributes(r=row_ref)}>")
        for ref, kind, style, children in cells:
            content = "".join(
                f"<is>{inline(value)}</is>" if name == "is" else f"<{name}>{escape(value)}</{name}>"
                for name, value in children
            )
            xml.append(f"<c{attributes(r=ref, t=kind, s=style)}>{content}</c>")
        xml.append("</row>")
    # openpyxl drops the cells outside the dimension a sheet declares (the new reader reads them all):
    # this one covers all the grammar writes (AZ9 and four cells after it; five rows)
    return f'<worksheet xmlns="{MAIN}"><dimension ref="A1:BZ20"/><sheetData>{"".join(xml)}</sheetData></worksheet>'


def assert_refused_by_name_or_read(path: Path, options: dict[str, Any]):
    """The outcome of reading: the columns, positions and sheet, or None for a PartnerFileError whose cause
    (if a parser's callback raised it) lies in the parsers, not in the reader's own code."""
    try:
        return new_read(path, options)
    except UnreadableFile as error:
        cause = error.__cause__
        innermost = traceback.extract_tb(cause.__traceback__)[-1].filename if cause and cause.__traceback__ else ""
        assert isinstance(cause, ExpatError) or not re.search(r"xlsx_(reader|parts)\.py$", innermost), repr(cause)
    except PartnerFileError:
        pass
    return None


@pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl's, on what it repairs or drops
@settings(max_examples=150, deadline=None)
@given(rows=SHEET_ROWS)
def test_any_sheet_of_the_grammar_is_read_as_openpyxl_reads_it_or_refused_by_name(rows):
    with tempfile.TemporaryDirectory() as folder:
        path = write_zip(Path(folder) / "fuzz.xlsx", {**HAND_WRITTEN, "xl/worksheets/sheet1.xml": sheet_xml(rows)})
        options = {"sheet": None, "header_row": 1}
        read = assert_refused_by_name_or_read(path, options)
        try:
            expected = openpyxl_read(path, options)
        except Exception:  # noqa: BLE001 (openpyxl fails on much of this grammar: nothing to compare)
            return
        if read is not None:
            assert read == expected


@settings(max_examples=150, deadline=None)
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=3))
def test_any_flipped_byte_is_read_or_refused_by_name(flips):
    with tempfile.TemporaryDirectory() as folder:
        path = write_zip(Path(folder) / "flipped.xlsx", HAND_WRITTEN)
        content = bytearray(path.read_bytes())
        for where, mask in flips:
            content[int(where * len(content))] ^= mask
        path.write_bytes(bytes(content))
        assert_refused_by_name_or_read(path, {"sheet": None, "header_row": 1})


# --- memory: bombs read in a process of their own -----------------------------------------------------------

PEAK_MEMORY = """
import json, resource, sys, time
from partnerdata.readers import xlsx_reader
started = time.monotonic()
try:
    xlsx_reader.read([sys.argv[1]], {"sheet": None, "header_row": 1}, ";")
    outcome = "read"
except Exception as error:
    outcome = f"{type(error).__name__}: {error}"
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_memory(path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_bombs_are_refused_in_little_memory(tmp_path):
    """With the default limits: 125 MB of shared strings in a small zip, rows reaching XFD."""
    strings = io.BytesIO()
    with zipfile.ZipFile(strings, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/strings.xml", "w") as part:
            part.write(f'<sst xmlns="{MAIN}">'.encode())
            for _ in range(120):
                part.write(b"<si><t>" + b"many words " * 95_000 + b"</t></si>")
            part.write(b"</sst>")
        for name, content in workbook_parts(plain_sheet(HEADER)).items():
            archive.writestr(name, content)
    bomb = tmp_path / "strings-bomb.xlsx"
    bomb.write_bytes(strings.getvalue())
    formatted = "".join(f'<row><c><v>{n}</v></c><c r="XFD{n + 2}" s="3"/></row>' for n in range(20_000))
    wide = write_zip(tmp_path / "xfd-formatted.xlsx", workbook_parts(plain_sheet(HEADER + formatted)))
    baseline = peak_memory(write_zip(tmp_path / "small.xlsx", workbook_parts(plain_sheet(HEADER))))
    measured = peak_memory(bomb)
    assert bomb.stat().st_size < 1_000_000
    assert measured["outcome"].startswith("LimitExceeded: the workbook (its parts up to xl/strings.xml) unpacks")
    assert measured["peak_mb"] < baseline["peak_mb"] + 400  # the strings kept, up to max_bytes (100 MiB)
    measured = peak_memory(wide)
    assert measured["outcome"] == "read"
    assert measured["peak_mb"] < baseline["peak_mb"] + 50


def test_a_bug_in_a_part_handler_is_a_defect_not_the_workbooks_fault(tmp_path, monkeypatch):
    """The expat callbacks are partnerdata's code: what they raise must not be taken for a broken file."""
    from partnerdata.errors import PartnerFileError
    from partnerdata.readers import xlsx_parts
    from tests.support.hostile_files import workbook

    path = workbook(tmp_path / "fine.xlsx")

    def broken(self, *args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'sheets'")

    monkeypatch.setattr(xlsx_parts.WorkbookHandler, "opened", broken)
    with pytest.raises(AttributeError) as caught:
        xlsx_reader.read([path], xlsx_reader.parse_options({}, "test"), ";")
    assert not isinstance(caught.value, PartnerFileError)
