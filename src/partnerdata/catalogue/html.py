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
from html import escape
from typing import Any

from partnerdata.catalogue.charts import Chart
from partnerdata.catalogue.jsonld import dataset_jsonld
from partnerdata.config.layout import DEGRADED
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
"""


def index_page(model: dict[str, Any], charts: list[Chart]) -> str:
    """published/index.html."""
    latest = _release(model, model["latest"])
    body = [
        "<header>",
        f"<h1>{_text(model['title'])}</h1>",
        f"<p>{_text(model['description'])}</p>",
        _facts(model, latest),
        "</header>",
        '<nav aria-label="On this page"><ul>'
        + "".join(
            f'<li><a href="#{anchor}">{label}</a></li>'
            for anchor, label in [
                ("downloads", "Downloads"),
                ("charts", "Charts"),
                ("dictionary", "Data dictionary"),
                ("partners", "Partners and freshness"),
                ("changelog", "Changelog"),
                ("releases", "All releases"),
            ]
        )
        + "</ul></nav>",
        "<main>",
        '<section id="downloads"><h2>Downloads</h2>',
    ]
    if latest:
        body += [
            f"<p>The files of the current release, {_text(latest['version'])}, under stable addresses that always "
            'give the latest release. Every release also keeps its own files (see <a href="#releases">All releases</a>).</p>',
            _files_table(model["latest_resources"], "Files of the latest release"),
            '<p>Checksums: <a href="latest/SHA256SUMS">SHA256SUMS</a> · metadata: '
            '<a href="latest/datapackage.json">datapackage.json</a> (Frictionless Data Package) · '
            '<a href="catalog.json">catalog.json</a> · '
            + (
                '<a href="catalog.ttl">catalog.ttl</a> (DCAT-AP 3; <a href="catalog-dcat-ap-2.ttl">2.1.1</a>) · '
                if model["base_url"]
                else ""
            )
            + '<a href="feed.xml">feed.xml</a> (Atom)</p>',
        ]
    else:
        body.append("<p>No release is available at the moment.</p>")
    body.append("</section>")
    body += ['<section id="charts"><h2>Charts</h2>']
    body += [_chart(chart) for chart in charts] or ["<p>No data to chart yet.</p>"]
    body.append("</section>")
    body += ['<section id="dictionary"><h2>Data dictionary</h2>', _dictionary(model), "</section>"]
    body += ['<section id="partners"><h2>Partners and freshness</h2>', _freshness(model), "</section>"]
    body += ['<section id="changelog"><h2>Changelog</h2>', _changelog(model), "</section>"]
    body += ['<section id="releases"><h2>All releases</h2>', _releases_table(model), "</section>"]
    body.append("</main>")
    body.append(_footer(model))
    return _page(model["title"], "\n".join(body), model, dataset_jsonld(model) or "")


def release_page(model: dict[str, Any], release: dict[str, Any], schemas: dict[str, Any]) -> str:
    """published/releases/<version>/index.html: links are relative to that folder."""
    version = release["version"]
    prefix = f"releases/{version}/"
    local = [
        {**resource, "files": [{**f, "path": f["path"].removeprefix(prefix)} for f in resource["files"]]}
        for resource in release["resources"]
    ]
    body = [
        "<header>",
        f"<h1>{_text(model['title'])}: release {_text(version)}</h1>",
        '<p><a href="../../index.html">Back to the catalogue</a></p>',
        "</header>",
        "<main>",
        "<h2>About this release</h2>",
        "<dl>",
        f"<dt>Status</dt><dd>{_status(release)}</dd>",
        f"<dt>Published</dt><dd>{_text(release['created'] or '')}</dd>",
        f"<dt>Change</dt><dd>{_text(_bump(release))}</dd>",
        "</dl>",
    ]
    if release["withdrawn"]:
        body.append(
            f'<p class="status-withdrawn">Withdrawn on {_text(release["withdrawn"].get("withdrawn_at", ""))}: '
            f"{_text(release['withdrawn'].get('reason', ''))}. Use the current release instead.</p>"
        )
    body += ["<h3>What changed</h3>", "<ul>", *[f"<li>{_text(r)}</li>" for r in release["reasons"]], "</ul>"]
    body += ["<h2>Files</h2>"]
    if release["status"] == "purged":
        body.append("<p>The data files of this release were deleted (a legal takedown); their checksums are kept in "
                    '<a href="TOMBSTONE.json">TOMBSTONE.json</a>.</p>')  # fmt: skip
    else:
        documents = " · ".join(f'<a href="{_text(name)}">{_text(name)}</a>' for name in release["documents"])
        body += [_files_table(local, f"Files of release {version}"), f"<p>{documents}</p>"]
    body += ["<h2>Data dictionary</h2>", _dictionary({**model, "schemas": schemas}, level=3)]
    body.append("</main>")
    body.append(_footer(model, root="../../"))
    return _page(f"{model['title']}: release {version}", "\n".join(body), model)


def _page(title: str, body: str, model: dict[str, Any], head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text(title)}</title>\n"
        f'<meta name="description" content="{_text(model["description"][:300])}">\n'
        + (head + "\n" if head else "")
        + f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _facts(model: dict[str, Any], latest: dict[str, Any] | None) -> str:
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
    version = f"{_text(latest['version'])}, published {_text(latest['created'] or '')}" if latest else "none available"
    return (
        "<dl>"
        f"<dt>Current version</dt><dd>{version}</dd>"
        f"<dt>Licence</dt><dd>{licence_text}</dd>"
        f"<dt>Publisher</dt><dd>{publisher_text}</dd>"
        + (f"<dt>Contact</dt><dd>{contact_text}</dd>" if contact else "")
        + f"<dt>Contributors</dt><dd>{contributors}</dd>"
        + (f"<dt>Keywords</dt><dd>{_text(', '.join(model['keywords']))}</dd>" if model["keywords"] else "")
        + "</dl>"
    )


def _files_table(resources: list[dict[str, Any]], caption: str) -> str:
    rows = []
    for resource in resources:
        for file in resource["files"]:
            name = file["path"].rsplit("/", 1)[-1]
            rows.append(
                "<tr>"
                f'<th scope="row">{_text(resource["title"])}</th>'
                f"<td>{_text(file['format'].upper())}</td>"
                f"<td>{_local_link(file['path'], _text(name), download=True)}</td>"
                f'<td class="number">{_size(file["bytes"])}</td>'
                f'<td class="number">{_number(resource["rows"])}</td>'
                f'<td class="hash">{_text(file["sha256"])}</td>'
                "</tr>"
            )
    return (
        f"<table><caption>{_text(caption)}</caption>"
        '<thead><tr><th scope="col">Resource</th><th scope="col">Format</th><th scope="col">File</th>'
        '<th scope="col">Size</th><th scope="col">Rows</th><th scope="col">SHA-256</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _chart(chart: Chart) -> str:
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
        f"<details><summary>The numbers behind this chart</summary>"
        f"<table><caption>{_text(chart.title)}</caption><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
        "</details></figure>"
    )


def _dictionary(model: dict[str, Any], level: int = 3) -> str:
    parts = []
    for name, schema in model["schemas"].items():
        about = model.get("descriptions", {}).get(name, {})
        rows = []
        for field in schema.get("fields", []):
            constraints = dict(field.get("constraints", {}))
            allowed = constraints.pop("enum", None) or field.get("itemEnum")  # a list's allowed items
            described = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in constraints.items()]
            if field.get("format") and field["format"] != "default":
                described.append(f"format: {field['format']}")
            if field["type"] == "list" and field.get("itemType"):
                described.append(f"items: {field['itemType']} separated by '{field.get('delimiter', ',')}'")
            rows.append(
                "<tr>"
                f'<th scope="row"><code>{_text(field["name"])}</code></th>'
                f"<td>{_text(field['type'])}</td>"
                f"<td>{_text(field.get('description', ''))}</td>"
                f"<td>{_text('; '.join(described))}</td>"
                f"<td>{_text(', '.join(map(str, allowed))) if allowed else ''}</td>"
                "</tr>"
            )
        key = schema.get("primaryKey")
        key_text = (
            f" Primary key: <code>{_text(', '.join(key) if isinstance(key, list) else str(key))}</code>." if key else ""
        )
        references = "".join(
            f" <code>{_text(', '.join(fk['fields']) if isinstance(fk['fields'], list) else fk['fields'])}</code> refers to "
            f"<code>{_text(fk['reference']['resource'])}</code>."
            for fk in schema.get("foreignKeys", [])
        )
        parts.append(
            f'<h{level} id="dictionary-{_text(name)}">{_text(about.get("title", name))} (<code>{_text(name)}</code>)</h{level}>'
            f"<p>{_text(about.get('description', ''))}{key_text}{references}</p>"
            f"<table><caption>Fields of {_text(name)}</caption>"
            '<thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Description</th>'
            '<th scope="col">Constraints</th><th scope="col">Allowed values</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return "\n".join(parts) or "<p>No schema yet.</p>"


def _freshness(model: dict[str, Any]) -> str:
    if not model["sources"]:
        return "<p>No partner data is published yet.</p>"
    rows = []
    for source in model["sources"]:
        fallback = source.get("status") in DEGRADED
        state = '<span class="fallback">fallback: last good data</span>' if fallback else "current"
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
    return (
        "<p>When a partner's file could not be fetched or read, its last good snapshot is published "
        "(a fallback) for a limited time.</p>"
        "<table><caption>Partner sources of the current release</caption>"
        '<thead><tr><th scope="col">Source</th><th scope="col">Organisation</th><th scope="col">Last snapshot</th>'
        '<th scope="col">Age (days)</th><th scope="col">Data</th><th scope="col">Problem</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _changelog(model: dict[str, Any]) -> str:
    if not model["releases"]:
        return "<p>No release yet.</p>"
    items = []
    for release in model["releases"]:
        reasons = "".join(f"<li>{_text(r)}</li>" for r in release["reasons"][:12])
        more = len(release["reasons"]) - 12
        if more > 0:
            reasons += f"<li>{_local_link(release['page'], f'{more} more')}</li>"
        withdrawn = ""
        if release["withdrawn"]:
            withdrawn = (
                f'<p class="status-withdrawn">Withdrawn on {_text(release["withdrawn"].get("withdrawn_at", ""))}: '
                f"{_text(release['withdrawn'].get('reason', ''))}</p>"
            )
        items.append(
            f'<li><h3 id="v{_text(release["version"])}">{_local_link(release["page"], _text(release["version"]))}'
            f" · {_text(release['created'] or '')} · {_text(_bump(release))}</h3>{withdrawn}<ul>{reasons}</ul></li>"
        )
    return f'<ol reversed class="changelog">{"".join(items)}</ol>'


def _releases_table(model: dict[str, Any]) -> str:
    """Every release with its status, and its files (sizes, rows, sha256) one click away."""
    rows = []
    for release in model["releases"]:
        available = [
            {**resource, "files": [f for f in resource["files"] if f["available"]]} for resource in release["resources"]
        ]
        if any(resource["files"] for resource in available):
            files = (
                f"<details><summary>{sum(len(r['files']) for r in available)} files</summary>"
                f"{_files_table(available, 'Files of release ' + release['version'])}</details>"
            )
        else:
            files = "files deleted"
        rows.append(
            "<tr>"
            f'<th scope="row">{_local_link(release["page"], _text(release["version"]))}</th>'
            f"<td>{_text(release['created'] or '')}</td>"
            f"<td>{_status(release)}</td>"
            f"<td>{files}</td>"
            "</tr>"
        )
    return (
        "<table><caption>Every release, newest first</caption>"
        '<thead><tr><th scope="col">Version</th><th scope="col">Published</th><th scope="col">Status</th>'
        '<th scope="col">Files</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _footer(model: dict[str, Any], root: str = "") -> str:
    dcat = f'<a href="{root}catalog.ttl">catalog.ttl</a>, ' if model["base_url"] else ""
    return (
        "<footer><p>Generated by partnerdata from the releases in this folder. "
        f'Machine-readable: <a href="{root}catalog.json">catalog.json</a>, '
        f'{dcat}<a href="{root}feed.xml">feed.xml</a>.</p></footer>'
    )


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


def _status(release: dict[str, Any]) -> str:
    status = release["status"]
    text = {"current": "current (latest)", "superseded": "superseded", "withdrawn": "withdrawn",
            "purged": "withdrawn, files deleted"}[status]  # fmt: skip
    return f'<span class="status-{status}">{text}</span>'


def _bump(release: dict[str, Any]) -> str:
    if release["bump"] == "initial":
        return "first release"
    return f"{release['bump']} change since {release['previous_version']}" if release["bump"] else "not recorded"


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
