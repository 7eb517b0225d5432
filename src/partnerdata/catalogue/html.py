"""The catalogue's pages: published/index.html and one page per release.

Plain HTML with one inline style sheet: headings in order, tables with header cells and
captions, links that download without JavaScript, charts as inline SVG with a text
alternative and their numbers as a table. Every link is relative, so the folder works from
any static host and from the disk.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from partnerdata.catalogue.charts import Chart

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
        f"<h1>{escape(model['title'])}</h1>",
        f"<p>{escape(model['description'])}</p>",
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
            f"<p>The files of the current release, {escape(latest['version'])}, under stable addresses that always "
            'give the latest release. Every release also keeps its own files (see <a href="#releases">All releases</a>).</p>',
            _files_table(model["latest_resources"], "Files of the latest release"),
            '<p>Checksums: <a href="latest/SHA256SUMS">SHA256SUMS</a> · metadata: '
            '<a href="latest/datapackage.json">datapackage.json</a> (Frictionless Data Package) · '
            '<a href="catalog.json">catalog.json</a> · '
            + ('<a href="catalog.ttl">catalog.ttl</a> (DCAT-AP) · ' if model["base_url"] else "")
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
    return _page(model["title"], "\n".join(body), model)


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
        f"<h1>{escape(model['title'])}: release {escape(version)}</h1>",
        '<p><a href="../../index.html">Back to the catalogue</a></p>',
        "</header>",
        "<main>",
        "<h2>About this release</h2>",
        "<dl>",
        f"<dt>Status</dt><dd>{_status(release)}</dd>",
        f"<dt>Published</dt><dd>{escape(release['created'] or '')}</dd>",
        f"<dt>Change</dt><dd>{escape(_bump(release))}</dd>",
        "</dl>",
    ]
    if release["withdrawn"]:
        body.append(
            f'<p class="status-withdrawn">Withdrawn on {escape(release["withdrawn"].get("withdrawn_at", ""))}: '
            f"{escape(release['withdrawn'].get('reason', ''))}. Use the current release instead.</p>"
        )
    body += ["<h3>What changed</h3>", "<ul>", *[f"<li>{escape(r)}</li>" for r in release["reasons"]], "</ul>"]
    body += ["<h2>Files</h2>"]
    if release["status"] == "purged":
        body.append("<p>The data files of this release were deleted (a legal takedown); their checksums are kept in "
                    '<a href="TOMBSTONE.json">TOMBSTONE.json</a>.</p>')  # fmt: skip
    else:
        documents = " · ".join(f'<a href="{escape(name)}">{escape(name)}</a>' for name in release["documents"])
        body += [_files_table(local, f"Files of release {version}"), f"<p>{documents}</p>"]
    body += ["<h2>Data dictionary</h2>", _dictionary({**model, "schemas": schemas}, level=3)]
    body.append("</main>")
    body.append(_footer(model, root="../../"))
    return _page(f"{model['title']}: release {version}", "\n".join(body), model)


def _page(title: str, body: str, model: dict[str, Any]) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<meta name="description" content="{escape(model["description"][:300])}">\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _facts(model: dict[str, Any], latest: dict[str, Any] | None) -> str:
    licence = model["licence"]
    licence_text = escape(licence.get("title") or licence.get("name", ""))
    if licence.get("path"):
        licence_text = f'<a href="{escape(licence["path"])}">{licence_text}</a>'
    publisher = model["publisher"]
    publisher_text = escape(publisher.get("name", ""))
    if publisher.get("url"):
        publisher_text = f'<a href="{escape(publisher["url"])}">{publisher_text}</a>'
    contact = model["contact_point"]
    contact_text = escape(contact.get("name", ""))
    if contact.get("email"):
        contact_text += f' (<a href="mailto:{escape(contact["email"])}">{escape(contact["email"])}</a>)'
    contributors = ", ".join(
        escape(c.get("title", "")) + (f" ({escape(c['role'])})" if c.get("role") else "") for c in model["contributors"]
    )
    version = (
        f"{escape(latest['version'])}, published {escape(latest['created'] or '')}" if latest else "none available"
    )
    return (
        "<dl>"
        f"<dt>Current version</dt><dd>{version}</dd>"
        f"<dt>Licence</dt><dd>{licence_text}</dd>"
        f"<dt>Publisher</dt><dd>{publisher_text}</dd>"
        + (f"<dt>Contact</dt><dd>{contact_text}</dd>" if contact else "")
        + f"<dt>Contributors</dt><dd>{contributors}</dd>"
        + (f"<dt>Keywords</dt><dd>{escape(', '.join(model['keywords']))}</dd>" if model["keywords"] else "")
        + "</dl>"
    )


def _files_table(resources: list[dict[str, Any]], caption: str) -> str:
    rows = []
    for resource in resources:
        for file in resource["files"]:
            name = file["path"].rsplit("/", 1)[-1]
            rows.append(
                "<tr>"
                f'<th scope="row">{escape(resource["title"])}</th>'
                f"<td>{escape(file['format'].upper())}</td>"
                f'<td><a href="{escape(file["path"])}" download>{escape(name)}</a></td>'
                f'<td class="number">{_size(file["bytes"])}</td>'
                f'<td class="number">{_number(resource["rows"])}</td>'
                f'<td class="hash">{escape(file["sha256"])}</td>'
                "</tr>"
            )
    return (
        f"<table><caption>{escape(caption)}</caption>"
        '<thead><tr><th scope="col">Resource</th><th scope="col">Format</th><th scope="col">File</th>'
        '<th scope="col">Size</th><th scope="col">Rows</th><th scope="col">SHA-256</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _chart(chart: Chart) -> str:
    header = "".join(f'<th scope="col">{escape(str(c).replace("_", " "))}</th>' for c in chart.columns)
    rows = "".join(
        "<tr>"
        + f'<th scope="row">{escape(str(row[0]))}</th>'
        + "".join(f'<td class="number">{_number(v)}</td>' for v in row[1:])
        + "</tr>"
        for row in chart.rows
    )
    return (
        f'<figure id="chart-{chart.key}" class="chart" aria-describedby="chart-{chart.key}-summary">'
        f"<h3>{escape(chart.title)}</h3>"
        f"{chart.svg}"
        f'<figcaption id="chart-{chart.key}-summary">{escape(chart.summary)}</figcaption>'
        f"<details><summary>The numbers behind this chart</summary>"
        f"<table><caption>{escape(chart.title)}</caption><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
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
                f'<th scope="row"><code>{escape(field["name"])}</code></th>'
                f"<td>{escape(field['type'])}</td>"
                f"<td>{escape(field.get('description', ''))}</td>"
                f"<td>{escape('; '.join(described))}</td>"
                f"<td>{escape(', '.join(map(str, allowed))) if allowed else ''}</td>"
                "</tr>"
            )
        key = schema.get("primaryKey")
        key_text = (
            f" Primary key: <code>{escape(', '.join(key) if isinstance(key, list) else str(key))}</code>."
            if key
            else ""
        )
        references = "".join(
            f" <code>{escape(', '.join(fk['fields']) if isinstance(fk['fields'], list) else fk['fields'])}</code> refers to "
            f"<code>{escape(fk['reference']['resource'])}</code>."
            for fk in schema.get("foreignKeys", [])
        )
        parts.append(
            f'<h{level} id="dictionary-{escape(name)}">{escape(about.get("title", name))} (<code>{escape(name)}</code>)</h{level}>'
            f"<p>{escape(about.get('description', ''))}{key_text}{references}</p>"
            f"<table><caption>Fields of {escape(name)}</caption>"
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
        fallback = source.get("status") in ("fallback", "failed")
        state = '<span class="fallback">fallback: last good data</span>' if fallback else "current"
        age = source.get("snapshot_age_days")
        rows.append(
            "<tr>"
            f'<th scope="row">{escape(source.get("title") or source.get("source_id", ""))}</th>'
            f"<td>{escape(source.get('organisation', ''))}</td>"
            f"<td>{escape(source.get('snapshot_fetched_at') or '')}</td>"
            f'<td class="number">{"" if age is None else f"{age:.1f}"}</td>'
            f"<td>{state}</td>"
            f"<td>{escape(source.get('error') or '')}</td>"
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
        reasons = "".join(f"<li>{escape(r)}</li>" for r in release["reasons"][:12])
        more = len(release["reasons"]) - 12
        if more > 0:
            reasons += f'<li><a href="{escape(release["page"])}">{more} more</a></li>'
        withdrawn = ""
        if release["withdrawn"]:
            withdrawn = (
                f'<p class="status-withdrawn">Withdrawn on {escape(release["withdrawn"].get("withdrawn_at", ""))}: '
                f"{escape(release['withdrawn'].get('reason', ''))}</p>"
            )
        items.append(
            f'<li><h3 id="v{escape(release["version"])}"><a href="{escape(release["page"])}">{escape(release["version"])}</a>'
            f" · {escape(release['created'] or '')} · {escape(_bump(release))}</h3>{withdrawn}<ul>{reasons}</ul></li>"
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
            f'<th scope="row"><a href="{escape(release["page"])}">{escape(release["version"])}</a></th>'
            f"<td>{escape(release['created'] or '')}</td>"
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


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else escape(str(value if value is not None else ""))
