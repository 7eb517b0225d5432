"""Hostile and broken partner files, made on the fly: corrupt workbooks, bombs, deep nesting.

Each function writes one file and returns its path. They are shared by the tests
(tests/integration/test_hostile.py) and the hostile-input benchmark (bench/hostile.py).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

HEADER = ["id", "title", "start"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
SHEET = "xl/worksheets/sheet1.xml"
SHARED = "xl/sharedStrings.xml"


def workbook(path: Path, rows: int = 3) -> Path:
    """A valid workbook of activities (id, title, start) as Excel writes one: every text in the shared
    strings, the cells pointing at them by index."""
    texts: list[str] = []

    def cell(reference: str, text: str) -> str:
        texts.append(text)
        return f'<c r="{reference}" t="s"><v>{len(texts) - 1}</v></c>'

    lines = ["".join(cell(f"{column}1", name) for column, name in zip("ABC", HEADER, strict=True))]
    for number in range(1, rows + 1):
        values = (f"X-{number}", f"Workshop {number}", f"2021-03-{number % 28 + 1:02d}")
        lines.append("".join(cell(f"{column}{number + 1}", value) for column, value in zip("ABC", values, strict=True)))
    sheet = "".join(f'<row r="{n}">{cells}</row>' for n, cells in enumerate(lines, start=1))
    strings = "".join(f"<si><t>{text}</t></si>" for text in texts)
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CONTENT_TYPES}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
        f'<Override PartName="/{SHEET}" ContentType="{SPREADSHEET}.worksheet+xml"/>'
        f'<Override PartName="/{SHARED}" ContentType="{SPREADSHEET}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{DOCUMENT}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOCUMENT}">'
        '<sheets><sheet name="Activities" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{DOCUMENT}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{DOCUMENT}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        SHEET: f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>{sheet}</sheetData></worksheet>',
        SHARED: f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(texts)}" '
        f'uniqueCount="{len(texts)}">{strings}</sst>',
    }
    return _write_parts(path, {name: text.encode("utf-8") for name, text in parts.items()})


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_parts(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def bad_shared_string_index(path: Path) -> Path:
    """A cell that refers to shared string 99999 of a workbook that has a dozen."""
    parts = _parts(workbook(path))
    sheet = parts[SHEET].decode()
    first = sheet.index('t="s"')
    value = sheet.index("<v>", first)
    end = sheet.index("</v>", value)
    parts[SHEET] = (sheet[: value + 3] + "99999" + sheet[end:]).encode()
    return _write_parts(path, parts)


def cut_off_sheet(path: Path) -> Path:
    """The sheet's XML ends in the middle (a workbook saved while the disk filled)."""
    parts = _parts(workbook(path, rows=50))
    parts[SHEET] = parts[SHEET][: len(parts[SHEET]) // 2]
    return _write_parts(path, parts)


def flipped_byte(path: Path) -> Path:
    """One byte flipped in the middle of the sheet's deflated data: zlib or the CRC says no."""
    workbook(path, rows=200)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(SHEET)
    header = info.header_offset
    name_length = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_length = int.from_bytes(data[header + 28 : header + 30], "little")
    start = header + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def entity_in_sheet(path: Path, expansions: int = 9) -> Path:
    """A billion-laughs entity declaration in the sheet's XML, used in a cell."""
    parts = _parts(workbook(path))
    sheet = parts[SHEET].decode()
    entities = ['<!ENTITY e0 "lol">'] + [
        f'<!ENTITY e{n} "{"".join(f"&e{n - 1};" for _ in range(10))}">' for n in range(1, expansions + 1)
    ]
    doctype = f"<!DOCTYPE worksheet [{''.join(entities)}]>"
    declaration_end = sheet.index("?>") + 2 if sheet.startswith("<?xml") else 0
    sheet = sheet[:declaration_end] + doctype + sheet[declaration_end:]
    inline = f'<c r="D2" t="inlineStr"><is><t>&e{expansions};</t></is></c>'
    row = sheet.index("</row>", sheet.index('<row r="2"'))
    parts[SHEET] = (sheet[:row] + inline + sheet[row:]).encode()
    return _write_parts(path, parts)


def shared_strings_bomb(path: Path, megabytes: int = 170) -> Path:
    """A small file whose shared strings expand to ``megabytes`` MB: one string repeated (it deflates
    a thousand to one)."""
    parts = _parts(workbook(path))
    text = "x" * 1000
    count = megabytes * 1000
    body = io.BytesIO()
    body.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    body.write(f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}">'.encode())
    original = parts[SHARED].decode()
    kept = original[original.index(">", original.index("<sst")) + 1 : original.index("</sst>")]
    body.write(kept.encode())  # the workbook's own strings first, so its cells still point at them
    item = f"<si><t>{text}</t></si>".encode()
    for _ in range(count):
        body.write(item)
    body.write(b"</sst>")
    parts[SHARED] = body.getvalue()
    return _write_parts(path, parts)


def cells_to_xfd(path: Path, rows: int = 2000) -> Path:
    """Rows that each have a value in column XFD (16,384): a reader that pads rows to the widest
    one builds 16,384 cells per row."""
    parts = _parts(workbook(path))
    sheet = parts[SHEET].decode()
    data = sheet[: sheet.index("</sheetData>")]
    extra = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>F-{n}</t></is></c><c r="XFD{n}"><v>1</v></c></row>'
        for n in range(5, rows + 5)
    )
    parts[SHEET] = (data + extra + sheet[sheet.index("</sheetData>") :]).encode()
    return _write_parts(path, parts)


def repeated_shared_string(path: Path, megabytes: int = 1, cells: int = 1000) -> Path:
    """One shared string of ``megabytes`` MB, referred to by ``cells`` cells: a few kilobytes of
    file (the string deflates to almost nothing), ``megabytes`` x ``cells`` MB as a table."""
    parts = _parts(workbook(path))
    original = parts[SHARED].decode()
    count = original.count("<si>")
    parts[SHARED] = original.replace("</sst>", f"<si><t>{'x' * megabytes * 1_000_000}</t></si></sst>").encode()
    sheet = parts[SHEET].decode()
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>{count}</v></c></row>' for n in range(10, cells + 10))
    parts[SHEET] = sheet.replace("</sheetData>", rows + "</sheetData>").encode()
    return _write_parts(path, parts)


def deep_json(path: Path, depth: int = 200_000) -> Path:
    """A JSON document nested ``depth`` levels deep."""
    path.write_text('[{"id": "J-1", "title": "x", "start": "2021-01-01", "n": ' + "[" * depth + "]" * depth + "}]")
    return path


def json_object_flood(path: Path, megabytes: int = 30) -> Path:
    """Millions of empty objects: a few bytes each on disk, 64 bytes each as Python objects."""
    count = megabytes * 1_000_000 // 3
    path.write_bytes(b"[" + b",".join([b"{}"] * count) + b"]")
    return path


def deep_xml(path: Path, depth: int = 2_000_000) -> Path:
    """An IATI file whose one activity holds elements nested ``depth`` levels deep."""
    with open(path, "wb") as out:
        out.write(b'<?xml version="1.0"?>\n<iati-activities version="2.03"><iati-activity><iati-identifier>'
                  b"XM-1</iati-identifier>")  # fmt: skip
        out.write(b"<x>" * depth)
        out.write(b"</x>" * depth)
        out.write(b"</iati-activity></iati-activities>\n")
    return path


def valid_json(path: Path, rows: int = 3) -> Path:
    records = [
        {"id": f"J-{n}", "title": f"Seminar {n}", "start": f"2021-04-{n % 28 + 1:02d}"} for n in range(1, rows + 1)
    ]
    path.write_text(json.dumps(records))
    return path
