"""The catalogue's pages: published/index.html and one page per release.

Plain HTML with one inline style sheet: headings in order, tables with header cells and
captions, links that download without JavaScript, charts as inline SVG with a text
alternative and their numbers as a table. Every link is relative, so the folder works from
any static host and from the disk.

Everything shown comes from files and settings we did not write, so every text goes through
``_text`` (control characters removed, then escaped) and every link made from data through
``_external_link``, ``_mail_link`` or ``_local_link``: a URL that safe_link refuses (such as a
``javascript:`` publisher URL) is shown as text, never as a link.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

from partnerdata.catalogue.charts import Chart
from partnerdata.catalogue.jsonld import dataset_jsonld
from partnerdata.config.layout import DEGRADED
from partnerdata.config.translations import Translation
from partnerdata.util.safe_text import html_text, mailto_link, relative_link, safe_link

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem; color: #1d1d1d; line-height: 1.45; }
header { border-bottom: 2px solid #1b6ca8; margin-bottom: 1rem; }
h1 { margin-bottom: .25rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef3f8; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
code, .hash { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; }
.status-withdrawn, .status-purged { color: #a4161a; font-weight: 600; }
.status-current { color: #1b6e3a; font-weight: 600; }
figure { margin: 1rem 0 2rem; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #444; }
nav ul { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; list-style: none; padding: 0; }
a { color: #0b5394; } a:focus { outline: 2px solid #e07b39; }
.fallback { color: #8a4b00; font-weight: 600; }
.languages { float: right; margin: .6rem 0; } .languages a, .languages strong { margin-left: .6rem; }
.dictionary th code { white-space: nowrap; word-break: normal; } .dictionary td { max-width: 34rem; }
.dictionary details summary { cursor: pointer; color: #0b5394; }
.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin: 1rem 0; }
.filters .control { display: flex; flex-direction: column; font-size: .9rem; }
.filters label { font-weight: 600; margin-bottom: .15rem; }
.filters select, .filters input, .pager button, .record button, .filters button, #records th button {
  font: inherit; padding: .3rem .45rem; border: 1px solid #5a6b7b; border-radius: 3px; background: #fff; color: #1d1d1d; }
#records th button { border: 0; background: none; padding: 0; font-weight: 600; cursor: pointer; text-align: left; color: #0b4a7a; text-decoration: underline; }
button:focus, select:focus, input:focus, .table-scroll:focus { outline: 2px solid #e07b39; outline-offset: 1px; }
.table-scroll { overflow-x: auto; max-width: 100%; } #records td:first-child { white-space: nowrap; }
.pager { display: flex; gap: 1rem; align-items: center; }
.record { border: 2px solid #1b6ca8; padding: .5rem 1rem; margin: 1rem 0; background: #f7fafc; }
.record dl { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: .2rem 1rem; }
.record dt { font-weight: 600; } .record dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.map-layout { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
.map-figure { flex: 3 1 32rem; margin: 0; } .map-numbers { flex: 1 1 14rem; }
.note { background: #fff4e0; padding: .5rem .8rem; }
[hidden] { display: none !important; }
"""


def index_page(
    model: dict[str, Any],
    charts: list[Chart],
    tr: Translation,
    languages: list[Translation],
    explored: list[str] | None = None,
) -> str:
    """published/index.html (index.nl.html, ...): the catalogue in one language."""
    u = tr.ui
    latest = _release(model, model["latest"])
    explored = explored or []
    sections = [
        ("downloads", u("nav_downloads")),
        *([("explore", u("nav_explore"))] if explored else []),
        ("charts", u("nav_charts")),
        ("dictionary", u("nav_dictionary")),
        ("partners", u("nav_partners")),
        ("changelog", u("nav_changelog")),
        ("releases", u("nav_releases")),
    ]
    body = [
        "<header>",
        language_switch(tr, languages, lambda code: page_name("index", code)),
        f"<h1>{_text(tr.dataset('title', model['title']))}</h1>",
        f"<p>{_text(tr.dataset('description', model['description']))}</p>",
        _facts(model, latest, tr),
        "</header>",
        f'<nav aria-label="{_text(u("nav_label"))}"><ul>'
        + "".join(f'<li><a href="#{anchor}">{_text(label)}</a></li>' for anchor, label in sections)
        + "</ul></nav>",
        "<main>",
        f'<section id="downloads"><h2>{_text(u("nav_downloads"))}</h2>',
    ]
    if latest:
        dcat = (
            '<a href="catalog.ttl">catalog.ttl</a> (DCAT-AP 3; <a href="catalog-dcat-ap-2.ttl">2.1.1</a>) · '
            if model["base_url"]
            else ""
        )
        body += [
            f"<p>{_text(u('downloads_intro', version=latest['version']))}</p>",
            _files_table(model["latest_resources"], u("downloads_caption"), tr),
            f'<p>{_text(u("downloads_checksums"))}: <a href="latest/SHA256SUMS">SHA256SUMS</a> · '
            f'{_text(u("downloads_metadata"))}: <a href="latest/datapackage.json">datapackage.json</a> '
            f'(Frictionless Data Package) · <a href="catalog.json">catalog.json</a> · {dcat}'
            '<a href="feed.xml">feed.xml</a> (Atom)</p>',
        ]
    else:
        body.append(f"<p>{_text(u('downloads_none'))}</p>")
    body.append("</section>")
    if explored:
        items = "".join(
            f'<li><a href="explore/{page_name(name, tr.code)}">{_text(_resource_title(model, name, tr))}</a></li>'
            for name in explored
        )
        body += [
            f'<section id="explore"><h2>{_text(u("nav_explore"))}</h2><p>{_text(u("explore_section_intro"))}</p>',
            f'<ul>{items}<li><a href="explore/{page_name("map", tr.code)}">{_text(u("explore_map_link"))}</a></li></ul>',
            "</section>",
        ]
    body += [f'<section id="charts"><h2>{_text(u("nav_charts"))}</h2>']
    body += [_chart(chart, tr) for chart in charts] or [f"<p>{_text(u('charts_none'))}</p>"]
    body.append("</section>")
    body += [f'<section id="dictionary"><h2>{_text(u("nav_dictionary"))}</h2>', _dictionary(model, tr), "</section>"]
    body += [f'<section id="partners"><h2>{_text(u("nav_partners"))}</h2>', _freshness(model, tr), "</section>"]
    body += [f'<section id="changelog"><h2>{_text(u("nav_changelog"))}</h2>', _changelog(model, tr), "</section>"]
    body += [f'<section id="releases"><h2>{_text(u("nav_releases"))}</h2>', _releases_table(model, tr), "</section>"]
    body.append("</main>")
    return page(tr.dataset("title", model["title"]), "\n".join(body), model, tr, dataset_jsonld(model) or "")


def release_page(
    model: dict[str, Any],
    release: dict[str, Any],
    schemas: dict[str, Any],
    tr: Translation,
    languages: list[Translation],
) -> str:
    """published/releases/<version>/index.html (index.nl.html, ...): links are relative to that folder."""
    u = tr.ui
    version = release["version"]
    prefix = f"releases/{version}/"
    local = [
        {**resource, "files": [{**f, "path": f["path"].removeprefix(prefix)} for f in resource["files"]]}
        for resource in release["resources"]
    ]
    title = tr.dataset("title", model["title"])
    body = [
        "<header>",
        language_switch(tr, languages, lambda code: page_name("index", code)),
        f"<h1>{_text(u('release_heading', title=title, version=version))}</h1>",
        f'<p><a href="../../{page_name("index", tr.code)}">{_text(u("release_back"))}</a></p>',
        "</header>",
        "<main>",
        f"<h2>{_text(u('release_about'))}</h2>",
        "<dl>",
        f"<dt>{_text(u('release_status'))}</dt><dd>{_status(release, tr)}</dd>",
        f"<dt>{_text(u('release_published'))}</dt><dd>{_text(release['created'] or '')}</dd>",
        f"<dt>{_text(u('release_change'))}</dt><dd>{_text(_bump(release, tr))}</dd>",
        "</dl>",
    ]
    if release["withdrawn"]:
        body.append(
            '<p class="status-withdrawn">'
            + _text(u("release_withdrawn", date=release["withdrawn"].get("withdrawn_at", ""),
                      reason=release["withdrawn"].get("reason", "")))
            + "</p>"
        )  # fmt: skip
    body += [
        f"<h3>{_text(u('release_what_changed'))}</h3>",
        "<ul>",
        *[f"<li>{_text(r)}</li>" for r in release["reasons"]],
        "</ul>",
    ]
    body += [f"<h2>{_text(u('release_files'))}</h2>"]
    if release["status"] == "purged":
        body.append(f'<p>{_text(u("release_purged"))} <a href="TOMBSTONE.json">TOMBSTONE.json</a>.</p>')
    else:
        documents = " · ".join(f'<a href="{_text(name)}">{_text(name)}</a>' for name in release["documents"])
        body += [_files_table(local, u("release_files_caption", version=version), tr), f"<p>{documents}</p>"]
    body += [f"<h2>{_text(u('nav_dictionary'))}</h2>", _dictionary({**model, "schemas": schemas}, tr, level=3)]
    body.append("</main>")
    return page(u("release_heading", title=title, version=version), "\n".join(body), model, tr, root="../../")


def page_name(stem: str, language: str) -> str:
    """index.html in English, index.nl.html in Dutch: each page beside its translations."""
    return f"{stem}.html" if language == "en" else f"{stem}.{language}.html"


def language_switch(tr: Translation, languages: list[Translation], name_of: Callable[[str], str]) -> str:
    """Links to this page in the other languages, each marked with its language."""
    items = []
    for other in languages:
        if other.code == tr.code:
            items.append(f'<strong lang="{other.code}" aria-current="page">{_text(other.name)}</strong>')
        else:
            items.append(
                f'<a href="{_text(name_of(other.code))}" hreflang="{other.code}" lang="{other.code}">{_text(other.name)}</a>'
            )
    return f'<nav class="languages" aria-label="{_text(tr.ui("languages_label"))}">{"".join(items)}</nav>'


def page(title: str, body: str, model: dict[str, Any], tr: Translation, head: str = "", root: str = "") -> str:
    """A whole page: ``root`` leads from its folder back to published/."""
    description = tr.dataset("description", model["description"])
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_text(tr.code)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text(title)}</title>\n"
        f'<meta name="description" content="{_text(description[:300])}">\n'
        + (head + "\n" if head else "")
        + f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n{_footer(model, tr, root)}\n</body>\n</html>\n"
    )


def _resource_title(model: dict[str, Any], name: str, tr: Translation) -> str:
    return tr.resource(name, "title", model.get("descriptions", {}).get(name, {}).get("title", name))


def _facts(model: dict[str, Any], latest: dict[str, Any] | None, tr: Translation) -> str:
    u = tr.ui
    licence = model["licence"]
    licence_text = _text(licence.get("title") or licence.get("name", ""))
    if licence.get("path"):
        licence_text = _external_link(licence["path"], licence_text)
    publisher = model["publisher"]
    publisher_text = _text(publisher.get("name", ""))
    if publisher.get("url"):
        publisher_text = _external_link(publisher["url"], publisher_text)
    contact = model["contact_point"]
    contact_text = _text(contact.get("name", ""))
    if contact.get("email"):
        contact_text += f" ({_mail_link(contact['email'])})"
    contributors = ", ".join(
        _text(c.get("title", "")) + (f" ({_text(c['role'])})" if c.get("role") else "") for c in model["contributors"]
    )
    version = (
        _text(u("facts_version", version=latest["version"], date=latest["created"] or ""))
        if latest
        else _text(u("facts_no_version"))
    )
    keywords = tr.keywords(model["keywords"])
    return (
        "<dl>"
        f"<dt>{_text(u('facts_current'))}</dt><dd>{version}</dd>"
        f"<dt>{_text(u('facts_licence'))}</dt><dd>{licence_text}</dd>"
        f"<dt>{_text(u('facts_publisher'))}</dt><dd>{publisher_text}</dd>"
        + (f"<dt>{_text(u('facts_contact'))}</dt><dd>{contact_text}</dd>" if contact else "")
        + f"<dt>{_text(u('facts_contributors'))}</dt><dd>{contributors}</dd>"
        + (f"<dt>{_text(u('facts_keywords'))}</dt><dd>{_text(', '.join(keywords))}</dd>" if keywords else "")
        + "</dl>"
    )


def _files_table(resources: list[dict[str, Any]], caption: str, tr: Translation) -> str:
    u = tr.ui
    rows = []
    for resource in resources:
        for file in resource["files"]:
            name = file["path"].rsplit("/", 1)[-1]
            rows.append(
                "<tr>"
                f'<th scope="row">{_text(tr.resource(resource["name"], "title", resource["title"]))}</th>'
                f"<td>{_text(file['format'].upper())}</td>"
                f"<td>{_local_link(file['path'], _text(name), download=True)}</td>"
                f'<td class="number">{_size(file["bytes"])}</td>'
                f'<td class="number">{_number(resource["rows"])}</td>'
                f'<td class="hash">{_text(file["sha256"])}</td>'
                "</tr>"
            )
    headers = "".join(
        f'<th scope="col">{_text(u(key))}</th>'
        for key in ("files_resource", "files_format", "files_file", "files_size", "files_rows", "files_sha256")
    )
    return (
        f"<table><caption>{_text(caption)}</caption><thead><tr>{headers}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _chart(chart: Chart, tr: Translation) -> str:
    header = "".join(f'<th scope="col">{_text(str(c).replace("_", " "))}</th>' for c in chart.columns)
    rows = "".join(
        "<tr>"
        + f'<th scope="row">{_text(str(row[0]))}</th>'
        + "".join(f'<td class="number">{_number(v)}</td>' for v in row[1:])
        + "</tr>"
        for row in chart.rows
    )
    return (
        f'<figure id="chart-{chart.key}" class="chart" aria-describedby="chart-{chart.key}-summary">'
        f"<h3>{_text(chart.title)}</h3>"
        f"{chart.svg}"
        f'<figcaption id="chart-{chart.key}-summary">{_text(chart.summary)}</figcaption>'
        f"<details><summary>{_text(tr.ui('charts_numbers'))}</summary>"
        f"<table><caption>{_text(chart.title)}</caption><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
        "</details></figure>"
    )


FOLD_CHARS = 60  # a pattern or a list of allowed values longer than this folds away


def _dictionary(model: dict[str, Any], tr: Translation, level: int = 3) -> str:
    u = tr.ui
    parts = []
    for name, schema in model["schemas"].items():
        about = model.get("descriptions", {}).get(name, {})
        rows = []
        for field in schema.get("fields", []):
            constraints = dict(field.get("constraints", {}))
            allowed = constraints.pop("enum", None) or field.get("itemEnum")  # a list's allowed items
            described = _constraints_in_words(field, constraints, tr)
            rows.append(
                "<tr>"
                f'<th scope="row"><code>{_breakable(field["name"])}</code>'
                f'<br><span class="field-title">{_text(tr.field(name, field["name"], "title", field.get("title", "")))}</span></th>'
                f"<td>{_text(_type_name(field['type'], tr))}</td>"
                f"<td>{_text(tr.field(name, field['name'], 'description', field.get('description', '')))}</td>"
                f"<td>{described}</td>"
                f"<td>{_allowed(field['name'], allowed, tr) if allowed else ''}</td>"
                "</tr>"
            )
        key = schema.get("primaryKey")
        key_text = (
            " "
            + _text(u("dictionary_key"))
            + f" <code>{_text(', '.join(key) if isinstance(key, list) else str(key))}</code>."
            if key
            else ""
        )
        references = "".join(
            " "
            + _text(u("dictionary_reference_before"))
            + f" <code>{_text(', '.join(fk['fields']) if isinstance(fk['fields'], list) else fk['fields'])}</code> "
            + _text(u("dictionary_reference_to"))
            + f" <code>{_text(fk['reference']['resource'])}</code>."
            for fk in schema.get("foreignKeys", [])
        )
        title = tr.resource(name, "title", about.get("title", name))
        description = tr.resource(name, "description", about.get("description", ""))
        headers = "".join(
            f'<th scope="col">{_text(u(k))}</th>'
            for k in ("dictionary_field", "dictionary_type", "dictionary_description", "dictionary_constraints",
                      "dictionary_allowed")
        )  # fmt: skip
        parts.append(
            f'<h{level} id="dictionary-{_text(name)}">{_text(title)} (<code>{_text(name)}</code>)</h{level}>'
            f"<p>{_text(description)}{key_text}{references}</p>"
            f'<table class="dictionary"><caption>{_text(u("dictionary_caption", resource=title))}</caption>'
            f"<thead><tr>{headers}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return "\n".join(parts) or f"<p>{_text(u('dictionary_none'))}</p>"


def _type_name(name: str, tr: Translation) -> str:
    try:
        return tr.ui("type_" + name)
    except KeyError:  # a type this catalogue has no word for: its Table Schema name
        return name


def _breakable(name: str) -> str:
    """A field name that may break after an underscore, never inside a word."""
    return "_<wbr>".join(_text(part) for part in name.split("_"))


def _constraints_in_words(field: dict[str, Any], constraints: dict[str, Any], tr: Translation) -> str:
    u = tr.ui
    words = []
    if constraints.pop("required", False):
        words.append(_text(u("constraint_required")))
    if constraints.pop("unique", False):
        words.append(_text(u("constraint_unique")))
    for name, key in (("minLength", "constraint_min_length"), ("maxLength", "constraint_max_length"),
                      ("minimum", "constraint_minimum"), ("maximum", "constraint_maximum")):  # fmt: skip
        if name in constraints:
            words.append(_text(u(key, value=_number(constraints.pop(name)))))
    pattern = constraints.pop("pattern", None)
    if pattern is not None:
        code = f"<code>{_text(pattern)}</code>"
        if len(pattern) > FOLD_CHARS:
            code = (
                f"<details><summary>{_text(u('constraint_pattern_long', chars=len(pattern)))}</summary>{code}</details>"
            )
            words.append(code)
        else:
            words.append(_text(u("constraint_pattern")) + " " + code)
    for name, value in constraints.items():
        words.append(f"{_text(name)}: <code>{_text(json.dumps(value, ensure_ascii=False))}</code>")
    if field.get("format") and field["format"] != "default":
        words.append(_text(u("constraint_format", format=field["format"])))
    if field["type"] == "list" and field.get("itemType"):
        words.append(_text(u("constraint_items", type=field["itemType"], delimiter=field.get("delimiter", ","))))
    return "; ".join(words)


def _allowed(field_name: str, allowed: list[Any], tr: Translation) -> str:
    """The codes with their labels; a long list folds away."""
    items = [
        f"<code>{_text(code)}</code> {_text(tr.label(field_name, str(code)))}"
        if tr.label(field_name, str(code)) != str(code)
        else f"<code>{_text(code)}</code>"
        for code in allowed
    ]
    if len(allowed) <= 12:
        return "<br>".join(items)
    return (
        f"<details><summary>{_text(tr.ui('dictionary_codes', count=len(allowed)))}</summary>"
        + ", ".join(items)
        + "</details>"
    )


def _freshness(model: dict[str, Any], tr: Translation) -> str:
    u = tr.ui
    if not model["sources"]:
        return f"<p>{_text(u('partners_none'))}</p>"
    rows = []
    for source in model["sources"]:
        fallback = source.get("status") in DEGRADED
        state = (
            f'<span class="fallback">{_text(u("partners_fallback"))}</span>'
            if fallback
            else _text(u("partners_current"))
        )
        age = source.get("snapshot_age_days")
        rows.append(
            "<tr>"
            f'<th scope="row">{_text(source.get("title") or source.get("source_id", ""))}</th>'
            f"<td>{_text(source.get('organisation', ''))}</td>"
            f"<td>{_text(source.get('snapshot_fetched_at') or '')}</td>"
            f'<td class="number">{"" if age is None else f"{age:.1f}"}</td>'
            f"<td>{state}</td>"
            f"<td>{_text(source.get('error') or '')}</td>"
            "</tr>"
        )
    headers = "".join(
        f'<th scope="col">{_text(u(k))}</th>'
        for k in ("partners_source", "partners_organisation", "partners_snapshot", "partners_age", "partners_data",
                  "partners_problem")
    )  # fmt: skip
    return (
        f"<p>{_text(u('partners_intro'))}</p>"
        f"<table><caption>{_text(u('partners_caption'))}</caption>"
        f"<thead><tr>{headers}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _changelog(model: dict[str, Any], tr: Translation) -> str:
    if not model["releases"]:
        return f"<p>{_text(tr.ui('changelog_none'))}</p>"
    items = []
    for release in model["releases"]:
        reasons = "".join(f"<li>{_text(r)}</li>" for r in release["reasons"][:12])
        more = len(release["reasons"]) - 12
        page_link = _language_page(release["page"], tr)
        if more > 0:
            reasons += f"<li>{_local_link(page_link, _text(tr.ui('changelog_more', count=more)))}</li>"
        withdrawn = ""
        if release["withdrawn"]:
            withdrawn = (
                '<p class="status-withdrawn">'
                + _text(tr.ui("changelog_withdrawn", date=release["withdrawn"].get("withdrawn_at", ""),
                              reason=release["withdrawn"].get("reason", "")))
                + "</p>"
            )  # fmt: skip
        items.append(
            f'<li><h3 id="v{_text(release["version"])}">{_local_link(page_link, _text(release["version"]))}'
            f" · {_text(release['created'] or '')} · {_text(_bump(release, tr))}</h3>{withdrawn}<ul>{reasons}</ul></li>"
        )
    return f'<ol reversed class="changelog">{"".join(items)}</ol>'


def _language_page(path: str, tr: Translation) -> str:
    """releases/1.0.0/index.html as the page of this language."""
    return path if tr.code == "en" else path.removesuffix("index.html") + page_name("index", tr.code)


def _releases_table(model: dict[str, Any], tr: Translation) -> str:
    """Every release with its status, and its files (sizes, rows, sha256) one click away."""
    u = tr.ui
    rows = []
    for release in model["releases"]:
        available = [
            {**resource, "files": [f for f in resource["files"] if f["available"]]} for resource in release["resources"]
        ]
        if any(resource["files"] for resource in available):
            count = sum(len(r["files"]) for r in available)
            files = (
                f"<details><summary>{_text(u('releases_files', count=count))}</summary>"
                f"{_files_table(available, u('release_files_caption', version=release['version']), tr)}</details>"
            )
        else:
            files = _text(u("releases_deleted"))
        rows.append(
            "<tr>"
            f'<th scope="row">{_local_link(_language_page(release["page"], tr), _text(release["version"]))}</th>'
            f"<td>{_text(release['created'] or '')}</td>"
            f"<td>{_status(release, tr)}</td>"
            f"<td>{files}</td>"
            "</tr>"
        )
    headers = "".join(
        f'<th scope="col">{_text(u(k))}</th>'
        for k in ("releases_version", "releases_published", "releases_status", "releases_files_heading")
    )
    return (
        f"<table><caption>{_text(u('releases_caption'))}</caption>"
        f"<thead><tr>{headers}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _footer(model: dict[str, Any], tr: Translation, root: str = "") -> str:
    dcat = f'<a href="{root}catalog.ttl">catalog.ttl</a>, ' if model["base_url"] else ""
    return (
        f"<footer><p>{_text(tr.ui('footer_generated'))} "
        f'{_text(tr.ui("footer_machine"))}: <a href="{root}catalog.json">catalog.json</a>, '
        f'{dcat}<a href="{root}feed.xml">feed.xml</a>.</p></footer>'
    )


def text(value: Any) -> str:
    """Data as HTML text (or an attribute value), for the catalogue's other pages."""
    return _text(value)


def number(value: Any) -> str:
    return _number(value)


def _text(value: Any) -> str:
    """Data as HTML text (or an attribute value): without the characters HTML forbids, escaped."""
    return escape(html_text(str(value)))


def _external_link(url: str, label: str) -> str:
    """A link to an http(s) URL from the data; a URL safe_link refuses is shown as text beside the label."""
    if safe_link(url):
        return f'<a href="{_text(url)}">{label}</a>'
    return f"{label} (<code>{_text(url)}</code>)"


def _mail_link(address: str) -> str:
    """A mailto: link when the address is a plausible e-mail address; else the address as text."""
    link = mailto_link(address)
    return f'<a href="{_text(link)}">{_text(address.removeprefix("mailto:"))}</a>' if link else _text(address)


def _local_link(path: str, label: str, download: bool = False) -> str:
    """A relative link to a file of the site, made from a name in the data (datapackage.json's paths)."""
    if relative_link(path) is None:
        return label
    return f'<a href="{_text(path)}"{" download" if download else ""}>{label}</a>'


def _release(model: dict[str, Any], version: str | None) -> dict[str, Any] | None:
    return next((r for r in model["releases"] if r["version"] == version), None)


def _status(release: dict[str, Any], tr: Translation) -> str:
    status = release["status"]
    return f'<span class="status-{status}">{_text(tr.ui("status_" + status))}</span>'


def _bump(release: dict[str, Any], tr: Translation) -> str:
    if release["bump"] == "initial":
        return tr.ui("bump_initial")
    if not release["bump"]:
        return tr.ui("bump_unknown")
    return tr.ui("bump_change", bump=tr.ui("bump_" + release["bump"]), previous=release["previous_version"])


def _size(size: float | None) -> str:  # a count of bytes, divided as it goes
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else _text(str(value if value is not None else ""))
