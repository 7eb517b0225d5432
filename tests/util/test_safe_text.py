"""Text made safe for XML, HTML, links, Markdown and spreadsheet cells (partnerdata.util.safe_text)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerdata.util.safe_text import (
    html_text,
    mailto_link,
    markdown_code,
    relative_link,
    safe_link,
    spreadsheet_cell,
    xml_text,
)

# Every code point, lone surrogates included: partner text decoded from JSON can hold them.
any_character = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
any_text = st.text(alphabet=any_character)
# Text that looks like what partners send, with the characters and pieces that matter made likely.
tricky_text = st.lists(
    st.one_of(
        st.sampled_from(
            [
                *"`*_[]()<>!&|\\#-+= \t\n\r\x00\x0c\x7f\u2028\u202e\ud800",
                "``",
                "```",
                "javascript:",
                "](",
                "<script>",
                "**",
                "&amp;",
                "<http://x.org>",
                "\\|",
            ]
        ),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        any_character,
    )
).map("".join)


def test_xml_text_removes_what_xml_forbids_and_keeps_the_rest():
    element = ET.Element("summary")
    element.text = "Withdrawn: a title was wrong\x0c"
    with pytest.raises(ET.ParseError):  # what feed.xml looked like before
        ET.fromstring(ET.tostring(element))
    assert xml_text("a\x0cb\x00c\x1fd\ud800e\ufffef") == "abcdef"
    assert xml_text("tab\tline\ncr\r") == "tab\tline\ncr\r"
    assert xml_text("ü € 😀 \ue000 \ufffd \x7f\x85") == "ü € 😀 \ue000 \ufffd \x7f\x85"  # allowed, if discouraged


@given(any_text)
def test_xml_text_always_fits_in_an_element_and_an_attribute(text):
    element = ET.Element("e", attribute=xml_text(text))
    element.text = xml_text(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="unicode").encode("utf-8"))
    expected = xml_text(text)
    assert (parsed.text or "") == expected.replace("\r\n", "\n").replace("\r", "\n")  # a parser normalises line ends
    assert parsed.get("attribute") == expected  # ElementTree writes \t \n \r of an attribute as references
    assert xml_text(xml_text(text)) == xml_text(text)


@given(any_text)
def test_html_text_leaves_no_control_character_but_whitespace(text):
    cleaned = html_text(text)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]", cleaned)
    assert set(cleaned) <= set(text)


@pytest.mark.parametrize(
    "url",
    ["https://partnerdata.example.org", "http://example.org/a?b=c#d", "HTTPS://Example.org/", "https://[::1]:8080/x",
     "https://data.example.org/published/releases/1.0.0/"],
)  # fmt: skip
def test_safe_link_keeps_absolute_http_urls(url):
    assert safe_link(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
        "java\nscript:alert(1)", "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)", "file:///etc/passwd", "//evil.example/x", "/relative", "relative.html", "",
        "https:", "https://", "http:example.org", "http:///x", "https://exa mple.org", "https://example.org/a b",
        "https://example.org/\u202egnp.exe", "https://example.org/\"onmouseover=\"x", "https://example.org/<x>",
        "https:\\\\evil.example", "https://trusted.example@evil.example/", "https://example.org:99999/",
        "https://example.org:port/", "https://example.org\x00.evil", None,
    ],
)  # fmt: skip
def test_safe_link_refuses_every_other_url(url):
    assert safe_link(url) is None


def test_safe_link_takes_other_schemes_when_asked():
    assert safe_link("ftp://example.org/x", schemes=("ftp",)) == "ftp://example.org/x"
    assert safe_link("https://example.org/x", schemes=("ftp",)) is None


@given(any_text)
def test_a_safe_link_is_always_an_http_url_without_whitespace_or_controls(text):
    url = safe_link(text)
    if url is not None:
        assert re.match(r"(?i)https?://[^/?#\s]", url) and not re.search(r"[\x00-\x20\x7f-\x9f<>\"{}|\\^`]", url)


def test_mailto_link_takes_plausible_addresses_only():
    assert mailto_link("opendata@partnerdata.example.org") == "mailto:opendata@partnerdata.example.org"
    assert mailto_link("MAILTO:a.b+c@example.org") == "mailto:a.b+c@example.org"
    assert mailto_link("a#b?c@example.org") == "mailto:a%23b%3Fc@example.org"  # one address, not a fragment
    for refused in ['"bob"@example.org', 'a@example.org" onclick="alert(1)', "a@b", "a b@example.org",
                    "javascript:alert(1)//@example.org", "@example.org", "a@", "a@-x.org", "", None]:  # fmt: skip
        assert mailto_link(refused) is None, refused


def test_relative_link_keeps_paths_inside_the_site():
    for path in ("releases/1.0.0/index.html", "activities.csv", "../../index.html", "a/b:c.csv", "#top"):
        assert relative_link(path) == path
    for path in ("javascript:alert(1)", "JAVASCRIPT:x", "/etc/passwd", "//evil.example/", "a b.csv", "x\x00.csv",
                 "https://example.org/", "\\\\evil.example\\x"):  # fmt: skip
        assert relative_link(path) is None, path


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("plain", "`plain`"),
        ("<script>alert(1)</script>", "`<script>alert(1)</script>`"),
        ("[x](javascript:alert(1))", "`[x](javascript:alert(1))`"),
        ("**bold**", "`**bold**`"),
        ("a`b", "``a`b``"),
        ("``", "``` `` ```"),
        ("`start", "`` `start ``"),
        ("end`", "`` end` ``"),
        (" both ", "`  both  `"),
        ("line\nbreak\r\ttab\x0cfeed", "`line\\nbreak\\r\\ttab\\x0cfeed`"),
        ("\u202eevil", "`\\u202eevil`"),
        ("", "` `"),
    ],
)
def test_markdown_code_shows_the_text_as_typed(text, code):
    assert markdown_code(text) == code


def test_markdown_code_escapes_pipes_in_a_table_cell():
    assert markdown_code("a|b") == "`a|b`"
    assert markdown_code("a|b", in_table=True) == "`a\\|b`"


def _visible(text: str) -> str:
    """What markdown_code should show: the text with controls escaped, as its docstring says."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for c in text:
        if c in named:
            out.append(named[c])
        elif re.match("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", c):
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


@given(tricky_text)
def test_markdown_code_has_the_structure_of_one_code_span(text):
    code = markdown_code(text)
    fence = re.match("`+", code).group()
    assert code.endswith(fence) and len(code) > 2 * len(fence)
    inner = code[len(fence) : -len(fence)]
    assert all(len(run) != len(fence) for run in re.findall("`+", inner))  # nothing closes it early
    assert "\n" not in code and "\r" not in code


@given(tricky_text)
def test_markdown_code_renders_as_one_code_element_with_the_text(text):
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").render("x " + markdown_code(text) + " y")
    shown = _visible(text)
    # CommonMark turns a line ending inside a span into a space and strips one space each side when
    # both sides have one; markdown_code leaves no line ending and pads, so the text comes out whole.
    expected = escape(shown, quote=False).replace('"', "&quot;")  # markdown-it escapes & < > " only
    assert html == f"<p>x <code>{expected or ' '}</code> y</p>\n"


@given(tricky_text)
def test_markdown_code_stays_in_its_table_cell(text):
    markdown_it = pytest.importorskip("markdown_it")
    table = f"| value | next |\n|---|---|\n| {markdown_code(text, in_table=True)} | after |\n"
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(table)
    cells = re.findall(r"<td>(.*?)</td>", html, flags=re.S)
    assert len(cells) == 2 and cells[1] == "after"
    assert cells[0].startswith("<code>") and cells[0].endswith("</code>")


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+32 475 12 34 56", "'+32 475 12 34 56"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-5", "-5"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("-1,5", "-1,5"),
        ("-2e-3", "-2e-3"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_cell_keeps_a_formula_from_running(cell, shown):
    assert spreadsheet_cell(cell) == shown


@given(any_text)
def test_a_spreadsheet_cell_never_starts_a_formula_unless_it_is_a_plain_number(text):
    cell = spreadsheet_cell(text)
    assert cell in (text, "'" + text)
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert re.fullmatch(r"[+-]?(\d+([.,]\d+)?|[.,]\d+)([eE][+-]?\d+)?", cell)
