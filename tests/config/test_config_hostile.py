"""`partnerdata check` refuses everything a run would refuse, and nothing in sources.yaml can blow
up, mislead or crash a run: each mistake exits 2 with one last line on stderr that names the
file, the entry or key, and what to do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from partnerdata import cli
from partnerdata.readers.options import text_codec
from tests.conftest import dump_yaml

PREFIX = "partnerdata: configuration error: "


def _entry(**overrides):
    entry = {
        "source_id": "college-a",
        "organisation": {"id": "ORG-A", "name": "College A", "country": "BE", "type": "teacher_education_college"},
        "url": "data.csv",
        "format": "csv",
        "resource": "activities",
        "columns": {"activity_id": "ID", "title": "Title"},
    }
    entry.update(overrides)
    return {key: value for key, value in entry.items() if value is not None}


def _standard(fmt: str, **options):
    entry = _entry(format=fmt, url="export.csv", resource=None, columns=None)
    if options:
        entry[fmt] = options
    return entry


def _write(tmp_path: Path, *entries, settings=None) -> Path:
    document = {"settings": settings or {}, "sources": list(entries) or [_entry()]}
    return _write_text(tmp_path, dump_yaml(document, allow_unicode=True))


def _write_text(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data.csv").write_text("ID,Title\nA-1,First\n", encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, capsys, *expected: str) -> str:
    """The check exits 2; its last stderr line is the whole message, about this file, with every expected part."""
    assert cli.main(["check", "--sources", str(path)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"{PREFIX}{path}: "), last
    for part in expected:
        assert part in last, f"{part!r} not in {last!r}"
    return last


def _passes(path: Path, capsys) -> None:
    status = cli.main(["check", "--sources", str(path)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "all fine" in captured.out


# ------------------------------------------------------------------ 1. reader options and source keys


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (_entry(csv={"encoding": "rot13"}), ("sources[0] (college-a): key 'csv': option 'encoding': 'rot13' is not a text encoding", "try utf-8 or cp1252")),
        (_entry(csv={"encoding": "base64"}), ("option 'encoding': 'base64' is not a text encoding",)),
        (_entry(csv={"encoding": "undefined"}), ("option 'encoding': 'undefined' is not an encoding that files are written in",)),
        (_entry(csv={"encoding": "utf\x00"}), ("option 'encoding': unknown encoding 'utf\\x00'",)),
        (_entry(format="json", json={"encoding": "rot13"}), ("key 'json': option 'encoding': 'rot13' is not a text encoding",)),
        (_entry(format="json", json={"encoding": "klingon"}), ("key 'json': option 'encoding': unknown encoding 'klingon'",)),
        (_entry(format="json", json={"encoding": "auto"}), ("key 'json': option 'encoding': unknown encoding 'auto'; try utf-8 or cp1252",)),
        (_standard("erasmus_plus", encoding="rot13"), ("key 'erasmus_plus': option 'encoding': 'rot13' is not a text encoding", "or auto")),
    ],
)  # fmt: skip
def test_an_encoding_must_be_a_text_encoding(tmp_path, capsys, entry, expected):
    _refused(_write(tmp_path, entry), capsys, *expected)


@pytest.mark.parametrize(
    "name", ["utf-8", "cp1252", "latin-1", "utf-16", "rot13", "base64", "zip", "undefined", "idna", "klingon", "a\x00"]
)
def test_the_encoding_check_and_the_decoding_agree(name):
    """text_codec is the one test: what it accepts decodes bytes, what it refuses is a LookupError."""
    try:
        codec = text_codec(name)
    except LookupError:
        return
    assert isinstance("Zuiderkempen".encode(codec).decode(codec), str)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"delimiter": "\n"}, "option 'delimiter': '\\n' cannot be the delimiter"),
        ({"delimiter": "§"}, "option 'delimiter': '§' is not an ASCII character"),
        ({"delimiter": "x"}, "option 'delimiter': 'x' cannot be the delimiter"),
        ({"quote_char": "\r"}, "option 'quote_char': '\\r' cannot be the quote char"),
        ({"quote_char": "“"}, "option 'quote_char': '“' is not an ASCII character"),
        ({"delimiter": ";", "quote_char": ";"}, "options 'delimiter' and 'quote_char' are both ';'"),
        ({"delimiter": ",", "decimal": ","}, "options 'delimiter' and 'decimal' are both ','"),
        ({"delimiter": ";", "thousands": ";"}, "options 'delimiter' and 'thousands' are both ';'"),
        ({"delimiter": ";", "decimal": ",", "thousands": ","}, "options 'decimal' and 'thousands' are both ','"),
        ({"decimal": "1"}, "option 'decimal': '1' cannot be the decimal"),
        ({"decimal": "-"}, "option 'decimal': '-' cannot be the decimal"),
        ({"thousands": "\n"}, "option 'thousands': '\\n' cannot be the thousands"),
        ({"delimiter": "auto", "quote_char": ";"}, "option 'quote_char': ';' is one of the delimiters that delimiter: auto picks"),
        ({"delimiter": 5}, "option 'delimiter': expected a text, got 5"),
    ],
)  # fmt: skip
def test_csv_dialect_characters_that_cannot_work_are_refused(tmp_path, capsys, options, expected):
    _refused(_write(tmp_path, _entry(csv=options)), capsys, "sources[0] (college-a): key 'csv': ", expected)


def test_csv_dialects_partners_use_pass(tmp_path, capsys):
    entries = [
        _entry(source_id="tab", csv={"delimiter": "\t", "encoding": "latin-1", "decimal": ",", "thousands": " "}),
        _entry(source_id="french", csv={"delimiter": ";", "decimal": ",", "thousands": "\u202f", "encoding": "auto"}),
        _entry(source_id="pipes", csv={"delimiter": "auto", "quote_char": "'"}),
    ]
    _passes(_write(tmp_path, *entries), capsys)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"record_path": "data..activities"}, "option 'record_path': 'data..activities' has an empty step"),
        ({"pagination": {"style": ["page"]}}, "option 'pagination': 'style' must be one of page, offset, next_link, link_header"),
        ({"pagination": {"style": "page", "size": 0}}, "option 'pagination': option 'size': expected a whole number from 1 to 100,000, got 0"),
        ({"pagination": {"style": "page", "size": 10**9}}, "option 'size': expected a whole number from 1 to 100,000"),
        ({"pagination": {"style": "page", "first_page": -1}}, "option 'first_page': expected a whole number from 0 to 1,000,000, got -1"),
        ({"pagination": {"style": "offset", "max_pages": float("nan")}}, "option 'max_pages': expected a whole number, got nan"),
        ({"pagination": {"style": "offset", "max_pages": 10**7}}, "option 'max_pages': expected a whole number from 1 to 100,000"),
        ({"pagination": {"style": "page", "size": True}}, "option 'size': expected a whole number, got True"),
        ({"pagination": {"style": "page", "page_param": ""}}, "option 'page_param': expected a name, got ''"),
        ({"pagination": {"style": "page", "page_param": "p\r\n"}}, "option 'page_param': 'p\\r\\n' holds the control character '\\r'"),
        ({"pagination": {"style": "page", "page_param": "n", "size_param": "n"}}, "options 'page_param' and 'size_param' are both 'n'"),
        ({"pagination": {"style": "next_link", "next_path": ""}}, "option 'next_path': '' has an empty step"),
    ],
)  # fmt: skip
def test_json_options_that_cannot_work_are_refused(tmp_path, capsys, options, expected):
    entry = _entry(format="json", url="data.json", json=options)
    _refused(_write(tmp_path, entry), capsys, "sources[0] (college-a): key 'json': ", expected)


@pytest.mark.parametrize(
    ("fmt", "options", "expected"),
    [
        ("xlsx", {"header_row": 0}, "key 'xlsx': option 'header_row': expected a whole number from 1 to 1,048,576, got 0"),
        ("xlsx", {"header_row": 2_000_000}, "option 'header_row': expected a whole number from 1 to 1,048,576"),
        ("xlsx", {"header_row": True}, "option 'header_row': expected a whole number, got True"),
        ("xlsx", {"header_row": 1.5}, "option 'header_row': expected a whole number, got 1.5"),
        ("xlsx", {"sheet": " "}, "option 'sheet': expected a name, got ' '; leave the option out for the default"),
        ("xlsx", {"sheet": "Pro\x00jecten"}, "option 'sheet': 'Pro\\x00jecten' holds the control character '\\x00'"),
        ("erasmus_plus", {"header_row": -1}, "key 'erasmus_plus': option 'header_row': expected a whole number from 1"),
        ("erasmus_plus", {"delimiter": '"'}, "key 'erasmus_plus': option 'delimiter': '\"' quotes the cells"),
        ("erasmus_plus", {"delimiter": ";;"}, "option 'delimiter': expected one character, got ';;'"),
        ("erasmus_plus", {"sheet": ""}, "option 'sheet': expected a name"),
        ("iati", {"languages": ["NL"]}, "key 'iati': option 'languages': expected two-letter language codes in lower case"),
        ("iati", {"languages": ["n\n"]}, "option 'languages': expected two-letter language codes"),
        ("iati", {"languages": [1, 2]}, "option 'languages': expected two-letter language codes"),
        ("iati", {"languages": "nl"}, "option 'languages': expected a list, got 'nl'"),
        ("iati", {"sub_activities": "events"}, "option 'sub_activities': 'projects' or 'activities'"),
    ],
)  # fmt: skip
def test_sheet_erasmus_and_iati_options_are_checked(tmp_path, capsys, fmt, options, expected):
    entry = _entry(format="xlsx", url="data.xlsx", xlsx=options) if fmt == "xlsx" else _standard(fmt, **options)
    _refused(_write(tmp_path, entry), capsys, "sources[0] (college-a): ", expected)


def test_standard_formats_with_auto_options_pass(tmp_path, capsys):
    entries = [
        _standard("erasmus_plus", delimiter="auto", encoding="auto", header_row=3, sheet="Projects"),
        {**_standard("iati", languages=["fr", "en"], sub_activities="activities"), "source_id": "ngo"},
    ]
    _passes(_write(tmp_path, *entries), capsys)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"date_format": "%Q/%m/%Y"}, "key 'date_format': '%Q/%m/%Y' is not a date format strptime can read ('Q' is a bad directive"),
        ({"date_format": "%d/%m/%Y %"}, "key 'date_format': '%d/%m/%Y %' is not a date format strptime can read"),
        ({"date_format": "%s"}, "is not a date format strptime can read"),
        ({"date_format": "%d/%m"}, "key 'date_format': '%d/%m' reads '25/12' (25 December 2031) back as 1900-12-25: a date format needs a day, a month and a year"),
        ({"date_format": "hello"}, "a date format needs a day, a month and a year"),
        ({"list_separator": "\n"}, "key 'list_separator': '\\n' is not a separator"),
        ({"list_separator": ""}, "key 'list_separator': expected a non-empty text, got ''"),
        ({"title": "Lerarenopleiding\x07"}, "key 'title': 'Lerarenopleiding\\x07' holds the control character '\\x07'; remove it"),
        ({"title": "Two\nlines\n"}, "key 'title': 'Two\\nlines\\n' holds the control character '\\n' (a YAML block scalar | or > keeps line breaks"),
        ({"title": "\u2028"}, "key 'title': expected a non-empty text"),
        ({"title": "A\u2028B"}, "key 'title': 'A\\u2028B' holds the control character '\\u2028'"),
        ({"format": ["csv"]}, "key 'format': ['csv'] is not one of csv, erasmus_plus, iati, json, xlsx"),
        ({"resource": ["activities"]}, "key 'resource': ['activities'] is not one of"),
        ({"csv": []}, "key 'csv': expected a mapping of options"),
        ({"values": []}, "key 'values': expected a mapping"),
    ],
)  # fmt: skip
def test_source_keys_the_run_would_trip_over_are_refused(tmp_path, capsys, overrides, expected):
    _refused(_write(tmp_path, _entry(**overrides)), capsys, "sources[0] (college-a): ", expected)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X Key": "a"}, "key 'headers': 'X Key' is not an HTTP header name"),
        ({"X-Key:": "a"}, "'X-Key:' is not an HTTP header name"),
        ({"X-Key": "a\r\nInjected: 1"}, "header 'X-Key': 'a\\r\\nInjected: 1' holds a line break or another control character"),
        ({"X-Key": "a\x00"}, "header 'X-Key': 'a\\x00' holds a line break or another control character"),
        ({"X-Key": " a"}, "header 'X-Key': ' a' holds whitespace at the start"),
        ({"X-Key": "5 €"}, "header 'X-Key': '5 €' holds a character outside Latin-1"),
        ({"X-Key": "a", "x-key": "b"}, "headers 'X-Key' and 'x-key' are the same header; keep one"),
    ],
)  # fmt: skip
def test_headers_requests_would_refuse_are_refused(tmp_path, capsys, headers, expected):
    entry = _entry(url="https://partner.example/export.csv", headers=headers)
    _refused(_write(tmp_path, entry), capsys, "sources[0] (college-a): ", expected)


def test_a_local_path_whose_variable_holds_a_line_break_is_refused_without_showing_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PARTNER_FILE", "data\ns3cr3t.csv")
    last = _refused(
        _write(tmp_path, _entry(url="${PARTNER_FILE}")),
        capsys,
        "sources[0] (college-a): key 'url': the path '${PARTNER_FILE}' (expanded) holds the control character '\\n'",
    )
    assert "s3cr3t" not in last


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://partner.example/export file.csv", "key 'url': 'https://partner.example/export file.csv' holds ' '; a URL has no whitespace"),
        ("https://partner.example/x.csv\n", "holds '\\n'; a URL has no whitespace or control characters"),
        ("https:///export.csv", "key 'url': expected an absolute http(s) URL with a host, got 'https:///export.csv'"),
        ("https://partner.example:99999/x.csv", "key 'url': 'https://partner.example:99999/x.csv' has a port that is not a number"),
        ("HTTPS://partner.example/x.csv", "only http, https and local paths are supported (write the scheme in lower case)"),
        ("data\x00.csv", "key 'url': the path 'data\\x00.csv' holds the control character '\\x00'"),
        (" data.csv", "key 'url': the path ' data.csv' holds whitespace at the start or the end"),
    ],
)  # fmt: skip
def test_urls_that_cannot_be_fetched_are_refused(tmp_path, capsys, url, expected):
    _refused(_write(tmp_path, _entry(url=url)), capsys, "sources[0] (college-a): ", expected)


def test_a_local_path_with_a_space_and_a_url_with_a_secret_pass(tmp_path, capsys):
    entries = [
        _entry(source_id="local", url="my export.csv"),
        _entry(source_id="remote", url="https://partner.example/x.csv?key=${secret:partner-key}"),
    ]
    _passes(_write(tmp_path, *entries), capsys)


@pytest.mark.parametrize(
    ("organisation", "expected"),
    [
        ({"name": "College\nA"}, "key 'organisation': key 'name': 'College\\nA' holds the control character '\\n'"),
        ({"city": "\x1b[31mGeel"}, "key 'organisation': key 'city': '\\x1b[31mGeel' holds the control character '\\x1b'"),
        ({"region": "Antwerpen\x9b"}, "key 'organisation': key 'region': 'Antwerpen\\x9b' holds the control character"),
        ({"city": None}, "key 'organisation': key 'city': expected a text, got None (leave the key out if there is none)"),
        ({"city": 2440}, "key 'organisation': key 'city': expected a text, got 2440"),
    ],
)  # fmt: skip
def test_organisation_texts_that_are_published_are_checked(tmp_path, capsys, organisation, expected):
    block = {"id": "ORG-A", "name": "College A", "country": "BE", **organisation}
    _refused(_write(tmp_path, _entry(organisation=block)), capsys, "sources[0] (college-a): ", expected)


# ------------------------------------------------------------------ 4. numbers


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("lock_timeout_seconds", -5, "expected a number of seconds from 0 to 86,400, got -5"),
        ("lock_timeout_seconds", float("nan"), "expected a number of seconds from 0 to 86,400, got nan"),
        ("lock_timeout_seconds", float("inf"), "got inf"),
        ("lock_timeout_seconds", True, "got True"),
        ("lock_timeout_seconds", 10**6, "got 1000000"),
        ("lock_timeout_seconds", "60", "got '60'"),
        (
            "retention_releases",
            0,
            "expected a whole number from 1 to 100,000, got 0 (or leave it out to keep every release)",
        ),
        ("retention_releases", 2.0, "expected a whole number from 1 to 100,000, got 2.0"),
        ("retention_snapshots", -1, "expected a whole number from 0 to 100,000, got -1"),
        ("max_fallback_age_days", float("nan"), "expected a number of days from 0 to 3,650, got nan"),
        ("max_fallback_age_days", float("-inf"), "got -inf"),
        ("max_rejected_share", float("nan"), "expected a share between 0 and 1, got nan"),
        ("max_row_drop_share", 1.5, "expected a share between 0 and 1, got 1.5"),
        ("warn_row_change_share", -0.1, "expected a share between 0 and 1, got -0.1"),
        ("warn_unchanged_days", "90", "expected a number of days from 0 to 3,650, got '90'"),
    ],
)
def test_impossible_numbers_in_settings_are_refused(tmp_path, capsys, key, value, expected):
    _refused(_write(tmp_path, settings={key: value}), capsys, f"settings: key '{key}': expected ", expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout_seconds", float("nan"), "expected a number of seconds from 0.001 to 3,600, got nan"),
        ("timeout_seconds", 0, "got 0"),
        ("timeout_seconds", 4000, "got 4000"),
        ("retries", 21, "expected a whole number from 0 to 20, got 21"),
        ("retries", -1, "got -1"),
        ("retries", 2.5, "got 2.5"),
        ("retries", False, "got False"),
        ("backoff_seconds", -1, "expected a number of seconds from 0 to 3,600, got -1"),
        ("backoff_seconds", float("inf"), "got inf"),
        ("max_total_seconds", 0, "expected a number of seconds from 0.001 to 86,400, got 0"),
        ("max_bytes", 0, "expected a whole number from 1 to 68,719,476,736, got 0"),
        ("max_bytes", 10**15, "got 1000000000000000"),
        ("max_columns", 0, "expected a whole number from 1 to 1,000,000, got 0"),
        ("max_cells", 10**12, "expected a whole number from 1 to 1,000,000,000"),
        ("max_depth", 10_001, "expected a whole number from 1 to 10,000, got 10001"),
        ("max_read_seconds", float("inf"), "expected a number of seconds from 0.001 to 86,400, got inf"),
        ("max_fallback_age_days", -1, "expected a number of days from 0 to 3,650, got -1"),
        ("retention_snapshots", 10**6, "expected a whole number from 0 to 100,000"),
        ("max_rejected_share", float("nan"), "expected a share between 0 and 1, got nan"),
    ],
)
def test_impossible_numbers_of_a_source_are_refused(tmp_path, capsys, key, value, expected):
    _refused(
        _write(tmp_path, _entry(**{key: value})), capsys, f"sources[0] (college-a): key '{key}': expected ", expected
    )


def test_numbers_at_their_bounds_pass(tmp_path, capsys):
    settings = {"lock_timeout_seconds": 0, "retention_releases": 1, "max_fallback_age_days": 0}
    entry = _entry(timeout_seconds=3600, retries=20, backoff_seconds=0, max_total_seconds=86_400, max_depth=10_000)
    _passes(_write(tmp_path, entry, settings=settings), capsys)


# ------------------------------------------------------------------ 5, 6. settings


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"publisher": {"name": "Desk", "homepage": "https://x.example"}}, "settings: key 'publisher': unknown key 'homepage' (known keys: name, type, url)"),
        ({"publisher": {"nmae": "Desk"}}, "settings: key 'publisher': unknown key 'nmae' (did you mean 'name'?)"),
        ({"contact_point": {"mail": "desk@x.example"}}, "settings: key 'contact_point': unknown key 'mail' (did you mean 'email'?)"),
        ({"publisher": "Desk"}, "settings: key 'publisher': expected a mapping, got 'Desk'"),
        ({"publisher": {"name": 5}}, "settings: key 'publisher': key 'name': expected a non-empty text, got 5"),
        ({"publisher": {"name": ["a"]}}, "settings: key 'publisher': key 'name': expected a non-empty text, got ['a']"),
        ({"publisher": {"name": "Desk\x1b]8;;https://evil.example\x07"}}, "settings: key 'publisher': key 'name': 'Desk\\x1b]8;;https://evil.example\\x07' holds the control character '\\x1b'"),
        ({"contact_point": {"name": "Open data\ndesk"}}, "settings: key 'contact_point': key 'name': 'Open data\\ndesk' holds the control character"),
        ({"publisher": {"url": "javascript:alert(1)"}}, "settings: key 'publisher': key 'url': expected an absolute http(s) URL with a host"),
        ({"publisher": {"url": "https://trusted.example@evil.example/"}}, "key 'publisher': key 'url': expected an absolute http(s) URL with a host, without spaces or credentials"),
        ({"publisher": {"url": "//partnerdata.example.org"}}, "key 'publisher': key 'url': expected an absolute http(s) URL"),
        ({"base_url": "/published/"}, "settings: key 'base_url': expected an absolute http(s) URL with a host, without spaces or credentials (https://example.org/) (the public address of published/), got '/published/'"),
        ({"base_url": "ftp://partnerdata.example.org/"}, "settings: key 'base_url': expected an absolute http(s) URL"),
        ({"base_url": "https://partnerdata.example.org/pub lished/"}, "settings: key 'base_url': expected an absolute http(s) URL"),
        ({"notify_url": "javascript:alert(1)"}, "settings: key 'notify_url': expected an absolute http(s) URL with a host, got 'javascript:alert(1)'"),
        ({"notify_url": "https://hooks.example/x y"}, "settings: key 'notify_url': 'https://hooks.example/x y' holds ' '"),
        ({"contact_point": {"email": "not an address"}}, "settings: key 'contact_point': key 'email': expected an e-mail address such as opendata@example.org, got 'not an address'"),
        ({"contact_point": {"email": "desk@localhost"}}, "key 'email': expected an e-mail address"),
        ({"contact_point": {"email": "desk@x.example?subject=x"}}, "key 'email': expected an e-mail address"),
        ({"licence": "CC BY 4.0"}, "settings: key 'licence': expected a short licence identifier such as CC-BY-4.0"),
        ({"licence": "CC-BY-4.0\n"}, "settings: key 'licence': expected a short licence identifier"),
        ({"licence": "x" * 65}, "settings: key 'licence': expected a short licence identifier"),
    ],
)  # fmt: skip
def test_settings_that_reach_published_files_are_checked(tmp_path, capsys, settings, expected):
    _refused(_write(tmp_path, settings=settings), capsys, expected)


def test_good_settings_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "t0ken")
    settings = {
        "publisher": {"name": "Open data desk", "url": "https://partnerdata.example.org"},
        "contact_point": {"name": "Desk", "email": "mailto:opendata@partnerdata.example.org"},
        "base_url": "https://partnerdata.example.org/published/",
        "licence": "LicenseRef-partnerdata-1.0",
        "notify_url": "https://bot:${HOOK_TOKEN}@hooks.example/notify?x=1",  # credentials: never published
    }
    _passes(_write(tmp_path, settings=settings), capsys)


# ------------------------------------------------------------------ 2, 3. the YAML itself

GOOD_ENTRY = """\
  - source_id: college-a
    organisation: {id: ORG-A, name: College A, country: BE}
    url: data.csv
    format: csv
    resource: activities
    columns: {activity_id: ID, title: Title}
"""


def test_an_alias_bomb_is_refused_quickly_before_it_is_built(tmp_path, capsys):
    layers = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for number in range(1, 9):
        previous, name = chr(ord("a") + number - 1), chr(ord("a") + number)
        layers.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    bomb = "\n".join("    " + layer for layer in layers)
    text = f"settings:\n  contact_point:\n{bomb}\nsources:\n{GOOD_ENTRY}"
    assert len(text.encode()) < 1200  # 9**9 = 387 million texts once built
    started = time.monotonic()
    last = _refused(
        _write_text(tmp_path, text),
        capsys,
        "line 4, column 12 (settings.contact_point.b[0]): *a is a YAML alias (it repeats the block marked &a)",
        "sources.yaml allows no aliases",
        "write the block out in full where it is used",
    )
    assert time.monotonic() - started < 2, last


def test_an_alias_of_an_organisation_is_refused(tmp_path, capsys):
    second = GOOD_ENTRY.replace("college-a", "college-b").replace(
        "organisation: {id: ORG-A, name: College A, country: BE}", "organisation: *org"
    )
    text = "settings: {}\nsources:\n" + GOOD_ENTRY.replace("organisation: {", "organisation: &org {") + second
    _refused(
        _write_text(tmp_path, text),
        capsys,
        "line 10, column 19 (sources[1].organisation): *org is a YAML alias",
        "write the block out in full",
    )


def test_a_merge_key_is_refused(tmp_path, capsys):
    first = GOOD_ENTRY + '    csv: &dialect {delimiter: ";", decimal: ","}\n'
    second = GOOD_ENTRY.replace("college-a", "college-b") + "    csv:\n      <<: *dialect\n      encoding: cp1252\n"
    _refused(
        _write_text(tmp_path, "settings: {}\nsources:\n" + first + second),
        capsys,
        "line 17 (sources[1].csv): '<<' merges the keys of another block; sources.yaml allows no merge keys "
        "and no aliases: write the keys out in full",
    )


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path, capsys):
    text = "settings: {}\nsources:\n" + GOOD_ENTRY + "    url: other.csv\n"
    _refused(
        _write_text(tmp_path, text),
        capsys,
        "line 9 (sources[0]): key 'url' is given twice in the same block (first at line 5); "
        "YAML would keep only the last one without a word: remove one of them",
    )
    text = "settings:\n  licence: CC0-1.0\n  licence: CC-BY-4.0\nsources:\n" + GOOD_ENTRY
    _refused(
        _write_text(tmp_path, text),
        capsys,
        "line 3 (settings): key 'licence' is given twice in the same block (first at line 2)",
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("{country: {NO: NO}}", "line 9 (sources[0].values.country): YAML reads the key NO as False, not as the text 'NO'; quote it: 'NO'"),
        ("{theme: {~: gender}}", "YAML reads the key ~ as None, not as the text '~'"),
        ("{theme: {010: gender}}", "YAML reads the key 010 as 8, not as the text '010'"),
        ('{theme: {"Gen\\nder": gender}}', "(sources[0].values.theme): the key 'Gen\\nder' holds the control character '\\n'; remove it"),
        ("{theme: {[a, b]: gender}}", "(sources[0].values.theme): a key must be a text, not a list"),
    ],
)  # fmt: skip
def test_keys_yaml_would_read_as_something_else_are_refused(tmp_path, capsys, values, expected):
    text = "settings: {}\nsources:\n" + GOOD_ENTRY + f"    values: {values}\n"
    _refused(_write_text(tmp_path, text), capsys, expected)


def test_a_value_yaml_cannot_build_is_refused_at_its_line(tmp_path, capsys):
    text = "settings: {}\nsources:\n" + GOOD_ENTRY + "    constants: {start_date: 2024-13-45}\n"
    _refused(
        _write_text(tmp_path, text),
        capsys,
        "line 9 (sources[0].constants.start_date): '2024-13-45' is not a valid timestamp (month must be in 1..12); "
        "quote it if it is a text",
    )


def test_absurd_nesting_is_refused(tmp_path, capsys):
    text = "settings: {}\nsources:\n" + GOOD_ENTRY + "    values: " + "[" * 40 + "]" * 40 + "\n"
    _refused(_write_text(tmp_path, text), capsys, "blocks are nested more than 32 deep", "check the indentation")


def test_broken_yaml_says_what_is_wrong_on_one_line(tmp_path, capsys):
    path = _write_text(tmp_path, "settings:\n  licence: CC0-1.0\n base_url: x\n")
    last = _refused(path, capsys)
    assert last == (
        f"{PREFIX}{path}: not valid YAML at line 3, column 2: did not find expected key "
        "(while parsing a block mapping that starts at line 1, column 1)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("settings: {}\nsources: [\x00]\n", "not valid YAML at line 2, column 11: the character '\\x00' may not appear in a YAML file"),
        ("settings: {licence: é\x07}\nsources: []\n", "not valid YAML at line 1, column 22: the character '\\x07'"),
        ("settings: {}\n---\nsources: []\n", "not valid YAML at line 2, column 1: but found another document (expected a single document in the stream that starts at line 1, column 1)"),
        ("settings: {}\nsources: [\n", "not valid YAML at line 3, column 1:"),
        ("settings: !!python/object:os.system {}\nsources: []\n", "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'"),
        ("", "expected a mapping with 'settings:' and 'sources:' at the top"),
    ],
)  # fmt: skip
def test_files_that_are_not_yaml_are_refused_on_one_line(tmp_path, capsys, text, expected):
    _refused(_write_text(tmp_path, text), capsys, expected)


def test_a_file_that_is_not_utf8_or_not_a_file_is_refused(tmp_path, capsys):
    path = tmp_path / "sources.yaml"
    path.write_bytes(
        "settings:\n  publisher: {name: Hogeschool Zuiderkempen}\n  licence: CC-BY\xe9\n".encode("latin-1")
    )
    _refused(path, capsys, "not UTF-8 at line 3 (byte b'\\xe9'); save the file as UTF-8")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    _refused(folder, capsys, "cannot be read (Is a directory); pass --sources FILE")


# ------------------------------------------------------------------ values and constants against the vocabularies


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"values": {"activity_type": {"Leerweek": "learning-week"}}},
         ["sources[0] (college-a): key 'values.activity_type'", "label 'Leerweek' maps to 'learning-week'",
          "did you mean 'learning_week'?", "the codes are guest_lecture"]),
        ({"constants": {"programme": "Enspired"}},
         ["key 'constants.programme'", "'Enspired', which is not a code of 'programme'", "the codes are"]),
        ({"values": {"target_groups": {"leraren": "teachers", "studenten": "students"}}},
         ["key 'values.target_groups'", "label 'studenten' maps to 'students'", "the codes are teacher_educators"]),
        ({"constants": {"country": "Belgium"}}, ["key 'constants.country'", "'Belgium'", "(250 codes)"]),
        ({"values": {"theme": {"Gender": "gender", "gender ": "inclusive_education"}}},
         ["key 'values.theme'", "the labels 'Gender' and 'gender ' differ only in case or spaces"]),
    ],
)  # fmt: skip
def test_values_and_constants_must_be_codes_of_the_field(tmp_path, capsys, overrides, expected):
    _refused(_write(tmp_path, _entry(**overrides)), capsys, *expected)


def test_codes_empty_targets_and_labels_in_any_case_pass(tmp_path, capsys):
    entry = _entry(
        values={"activity_type": {"Leerweek": "learning_week", "LEERWEEK": "learning_week"},
                "target_groups": {"leerlingen": "", "leraren": "teachers"}},
        constants={"programme": "enspired", "partner_countries": "KE;RW"},
    )  # fmt: skip
    _passes(_write(tmp_path, entry), capsys)


def test_labels_match_ignoring_case_and_surrounding_spaces():
    import pyarrow as pa

    from partnerdata.mapping.columns import _translate, _translate_list

    column = pa.array(["Leerweek", " leerweek ", "LEERWEEK", "Gastcollege", "Leerweken"])
    assert _translate(column, {"Leerweek": "learning_week"}).to_pylist() == [
        "learning_week", "learning_week", "learning_week", "Gastcollege", "Leerweken",
    ]  # fmt: skip
    lists = pa.array(["Leraren; LEERLINGEN", "leraren"])
    translated = _translate_list(lists, {"leraren": "teachers", "Leerlingen": ""}, ";")
    assert translated.to_pylist() == ["teachers;", "teachers"]
