"""The explorer: a page per resource that shows the current release's records as a table a data
user can filter, sort, page through and download, a record panel, and a map of the countries.

Everything is static, written by the catalogue step under published/explore/ in each language
(``activities.html``, ``activities.nl.html``, ...): no CDN, no server, no request to another host.
Without a script the page still shows the release's first rows, the map as SVG and the tables;
with one, explore.js filters, in one of two ways that this module chooses per resource:

- ``memory``: when the release's CSV file is at most COMPACT_MOST_BYTES, its rows travel as one
  script file (explore/data/<resource>-<version>.js, the CSV's own cells), loaded by a classic
  ``<script>`` so that it works from the disk (file://) as from any host; filtering runs over it.
- ``duckdb``: a larger resource is queried where it lies: DuckDB-WASM (web/packages.json, copied
  once into published/assets/) reads the release's Parquet file with HTTP range requests, only
  the columns and row groups a query needs. That needs a web server (browsers refuse workers and
  WebAssembly from file://); from the disk the page says so and keeps its first rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partnerdata.catalogue.html import language_switch, number, page, page_name, text
from partnerdata.catalogue.worldmap import world_map
from partnerdata.config import layout
from partnerdata.config.translations import Translation

EXPLORE = "explore"
ASSETS = "assets"
COMPACT_MOST_BYTES = 10_000_000  # a CSV up to this travels as one script: about 0.3 s to parse in a browser
PAGE_ROWS = 50  # rows per page, and the rows a page shows without a script
TABLE_MOST_COLUMNS = 9  # the table shows these; the record panel every field
CELL_MOST_CHARS = 140  # a longer text is cut in the table (the record panel has it whole)
CSV_MOST_ROWS = 200_000  # the largest filtered download the DuckDB engine makes in a browser
STATIC = Path(__file__).parent / "static"
DUCKDB_PACKAGE = "@duckdb/duckdb-wasm"
DUCKDB_FILES = (
    "duckdb-browser.mjs", "duckdb-browser-eh.worker.js", "duckdb-eh.wasm", "duckdb-browser-mvp.worker.js",
    "duckdb-mvp.wasm",
)  # fmt: skip
ARROW_FILE = ("apache-arrow", "Arrow.es2015.min.js")
FREE_TEXT_SEARCHED = 4  # free-text fields the text filter looks in (the first ones of the schema)

Write = Callable[[Path, str], None]


@dataclass
class Column:
    """What the page needs to know of a field."""

    name: str
    type: str
    title: str
    description: str
    vocabulary: bool = False  # an enum (or a list of enum items): shown by label, filtered by value
    is_list: bool = False
    delimiter: str = ";"
    link: str | None = None  # the explorer page of the resource a reference points at
    free_text: bool = False
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Explorer:
    """One resource's explorer, ready to be written in every language."""

    resource: str
    version: str
    columns: list[Column]
    key: list[str]
    rows: list[list[str]]  # all rows (memory engine) or the first PAGE_ROWS (duckdb engine)
    total: int
    engine: str
    facets: dict[str, list[str]]  # filter id -> the values present, in order
    data_script: str | None = None
    parquet: str | None = None


def write_explorer(
    published_dir: Path,
    model: dict[str, Any],
    translations: dict[str, Translation],
    write: Write,
) -> list[str]:
    """Write explore/ for the current release in every language; the resources it covers."""
    folder = published_dir / EXPLORE
    version = model["latest"]
    if not version:
        _remove_tree(folder)
        return []
    release = layout.release_dir(published_dir, version)
    folder.mkdir(exist_ok=True)
    data_folder = folder / "data"
    data_folder.mkdir(exist_ok=True)
    schemas = model["schemas"]
    explorers = []
    kept_data: set[str] = set()
    for resource in schemas:
        explorer = _explorer(release, resource, version, schemas, translations["en"])
        if explorer is None:
            continue
        if explorer.engine == "memory":
            name = f"{resource}-{version}.js"
            explorer.data_script = f"data/{name}"
            kept_data.add(name)
            script = _data_script(explorer)
            target = data_folder / name
            if not target.exists() or target.read_text(encoding="utf-8") != script:
                write(target, script)
        else:
            explorer.parquet = f"../{layout.RELEASES}/{version}/{resource}.parquet"
            _copy_duckdb(published_dir)
        explorers.append(explorer)
    for stale in data_folder.iterdir():
        if stale.name not in kept_data and not stale.name.startswith("."):
            stale.unlink()
    _copy_static(published_dir, write)
    sources = {
        s.get("source_id", ""): {
            "title": s.get("title") or s.get("source_id", ""),
            "organisation": s.get("organisation", ""),
            "snapshot": s.get("snapshot_fetched_at") or "",
        }
        for s in model["sources"]
    }
    names = [e.resource for e in explorers]
    counts = country_counts(release)  # the map's numbers: the same in every language
    written = set()
    for language, translation in translations.items():
        for explorer in explorers:
            html = explorer_page(model, explorer, names, sources, translation, list(translations.values()))
            written.add(page_name(explorer.resource, language))
            write(folder / page_name(explorer.resource, language), html)
        written.add(page_name("map", language))
        write(folder / page_name("map", language), map_page(model, counts, names, translation, translations))
    for stale in folder.glob("*.html"):  # a resource (or a language) the current release no longer has
        if stale.name not in written:
            stale.unlink()
    return names


def _explorer(
    release: Path, resource: str, version: str, schemas: dict[str, Any], english: Translation
) -> Explorer | None:
    csv_path = release / f"{resource}.csv"
    parquet_path = release / f"{resource}.parquet"
    if not csv_path.exists() or not parquet_path.exists():
        return None  # a purged release, or a resource without its files
    schema = schemas[resource]
    columns = _columns(resource, schema, schemas, english)
    key = schema.get("primaryKey") or [columns[0].name]
    key = [key] if isinstance(key, str) else list(key)
    compact = csv_path.stat().st_size <= COMPACT_MOST_BYTES
    if compact:
        rows = list(_csv_rows(csv_path, [c.name for c in columns]))
        total = len(rows)
        facets = _facets_of_rows(columns, rows)
    else:
        rows = list(_first(_csv_rows(csv_path, [c.name for c in columns]), PAGE_ROWS))
        total = pq.ParquetFile(parquet_path).metadata.num_rows
        facets = _facets_of_parquet(columns, parquet_path)
    return Explorer(
        resource, version, columns, key, rows, total, "memory" if compact else "duckdb", facets,
    )  # fmt: skip


def _columns(resource: str, schema: dict[str, Any], schemas: dict[str, Any], english: Translation) -> list[Column]:
    links = {}
    for reference in schema.get("foreignKeys", []):
        fields = reference["fields"] if isinstance(reference["fields"], list) else [reference["fields"]]
        target = reference["reference"]["resource"]
        if len(fields) == 1 and target in schemas:
            links[fields[0]] = target
    columns = []
    for spec in schema.get("fields", []):
        allowed = spec.get("constraints", {}).get("enum") or spec.get("itemEnum")
        columns.append(
            Column(
                name=spec["name"],
                type=spec.get("type", "string"),
                title=spec.get("title") or spec["name"],
                description=spec.get("description", ""),
                vocabulary=bool(allowed),
                is_list=spec.get("type") == "list",
                delimiter=spec.get("delimiter", ";"),
                link=links.get(spec["name"]),
                free_text=bool(spec.get("freeText")),
            )
        )
    return columns


def _csv_rows(path: Path, names: list[str]) -> Iterator[list[str]]:
    """The CSV's cells as written, in the schema's column order."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        order = [header.index(name) if name in header else None for name in names]
        for row in reader:
            yield [row[i] if i is not None and i < len(row) else "" for i in order]


def _first(rows: Iterator[list[str]], count: int) -> Iterator[list[str]]:
    for index, row in enumerate(rows):
        if index >= count:
            return
        yield row


def filters(columns: list[Column]) -> list[dict[str, str]]:
    """The page's filters: each vocabulary field, each year field, and the year of the first date."""
    made = [
        {"id": c.name, "field": c.name, "kind": "contains" if c.is_list else "equals"} for c in columns if c.vocabulary
    ]
    made += [{"id": c.name, "field": c.name, "kind": "equals"} for c in columns if c.type == "year"]
    first_date = next((c for c in columns if c.type == "date"), None)
    if first_date is not None:
        made.append({"id": "year", "field": first_date.name, "kind": "year"})
    return made


def _facets_of_rows(columns: list[Column], rows: list[list[str]]) -> dict[str, list[str]]:
    index = {c.name: i for i, c in enumerate(columns)}
    by_name = {c.name: c for c in columns}
    facets = {}
    for spec in filters(columns):
        values: set[str] = set()
        position = index[spec["field"]]
        for row in rows:
            cell = row[position]
            if not cell:
                continue
            if spec["kind"] == "contains":
                values.update(v for v in cell.split(by_name[spec["field"]].delimiter) if v)
            elif spec["kind"] == "year":
                values.add(cell[:4])
            else:
                values.add(cell)
        facets[spec["id"]] = sorted(values)
    return facets


def _facets_of_parquet(columns: list[Column], path: Path) -> dict[str, list[str]]:
    """The same from the Parquet file, a column at a time. Text columns are read as dictionaries: a
    vocabulary field has a few values however many rows hold them, and only those few become strings."""
    parquet = pq.ParquetFile(path)
    facets = {}
    for spec in filters(columns):
        name = spec["field"]
        texts = parquet.schema_arrow.field(name).type
        texts = texts.value_type if pa.types.is_list(texts) else texts
        as_dictionary = [f"{name}.list.element" if spec["kind"] == "contains" else name]
        column = pq.read_table(
            path, columns=[name], read_dictionary=as_dictionary if pa.types.is_string(texts) else None
        ).column(0)
        values: set[str] = set()
        for chunk in column.chunks:
            if spec["kind"] == "contains":
                chunk = pc.list_flatten(chunk)
            distinct = pc.unique(chunk.drop_null())
            if spec["kind"] == "year":
                distinct = pc.unique(pc.year(distinct))
            values.update(str(v) for v in distinct.to_pylist())
        facets[spec["id"]] = sorted(values)
    return facets


def _data_script(explorer: Explorer) -> str:
    """The rows as a classic script (a <script src> works from file://, a fetch does not)."""
    data = {"resource": explorer.resource, "version": explorer.version, "rows": explorer.rows}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.partnerdataRows = window.partnerdataRows || {{}};\nwindow.partnerdataRows[{json.dumps(explorer.resource)}] = {text};\n"


def _copy_static(published_dir: Path, write: Write) -> None:
    assets = published_dir / ASSETS
    assets.mkdir(exist_ok=True)
    for source in sorted(STATIC.iterdir()):
        if source.suffix in {".js", ".css", ".mjs"}:
            text = source.read_text(encoding="utf-8")
            target = assets / source.name
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                write(target, text)


def duckdb_folder() -> str:
    """assets/duckdb-wasm-<version>: a new version is a new folder, so a cached page never mixes two."""
    package = json.loads((layout.WEB_PACKAGES / DUCKDB_PACKAGE / "package.json").read_text(encoding="utf-8"))
    return f"{ASSETS}/duckdb-wasm-{package['version']}"


def _copy_duckdb(published_dir: Path) -> None:
    """DuckDB-WASM's files, once: a folder already complete is left alone."""
    source = layout.WEB_PACKAGES / DUCKDB_PACKAGE / "dist"
    if not source.exists():
        raise RuntimeError(f"DuckDB-WASM is not at {source}: run `make setup` (web/fetch.py fetches it)")
    target = published_dir / duckdb_folder()
    complete = target / ".complete"
    if complete.exists():
        return
    staging = target.with_name(target.name + ".partial")
    _remove_tree(staging)
    staging.mkdir(parents=True)
    for name in DUCKDB_FILES:
        shutil.copyfile(source / name, staging / name)
    shutil.copyfile(layout.WEB_PACKAGES / ARROW_FILE[0] / ARROW_FILE[1], staging / ARROW_FILE[1])
    (staging / ".complete").write_text("", encoding="utf-8")
    _remove_tree(target)
    staging.rename(target)


def _remove_tree(folder: Path) -> None:
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)


# --- pages -------------------------------------------------------------------------------------


def explorer_page(
    model: dict[str, Any],
    explorer: Explorer,
    names: list[str],
    sources: dict[str, dict[str, str]],
    tr: Translation,
    languages: list[Translation],
) -> str:

    resource = explorer.resource
    title = tr.resource(resource, "title", model["descriptions"].get(resource, {}).get("title", resource))
    specs = filters(explorer.columns)
    columns = [_localised(c, resource, tr, explorer.facets.get(c.name, [])) for c in explorer.columns]
    shown = _table_columns(columns, explorer.key)
    by_name = {c.name: c for c in columns}
    lang = tr.code
    controls = []
    for spec in specs:
        column = by_name[spec["field"]]
        label = tr.ui("explore_filter_year", field=column.title) if spec["kind"] == "year" else column.title
        options = "".join(
            f'<option value="{text(v)}">{text(column.labels.get(v, v) if spec["kind"] != "year" else v)}</option>'
            for v in explorer.facets.get(spec["id"], [])
        )
        controls.append(
            f'<div class="control"><label for="filter-{text(spec["id"])}">{text(label)}</label>'
            f'<select id="filter-{text(spec["id"])}" data-filter="{text(spec["id"])}">'
            f'<option value="">{text(tr.ui("explore_all"))}</option>{options}</select></div>'
        )
    controls.append(
        f'<div class="control control-text"><label for="filter-text">{text(tr.ui("explore_search"))}</label>'
        f'<input type="search" id="filter-text" data-filter="text" autocomplete="off"></div>'
    )
    nav = " · ".join(
        (f'<a href="{page_name(n, lang)}">{text(tr.resource(n, "title", model["descriptions"].get(n, {}).get("title", n)))}</a>'
         if n != resource else f'<strong aria-current="page">{text(title)}</strong>')
        for n in names
    ) + f' · <a href="{page_name("map", lang)}">{text(tr.ui("explore_map_link"))}</a>'  # fmt: skip
    static_rows = explorer.rows[:PAGE_ROWS]
    config = {
        "resource": resource,
        "version": explorer.version,
        "language": lang,
        "engine": explorer.engine,
        "key": explorer.key,
        "total": explorer.total,
        "pageRows": PAGE_ROWS,
        "csvMostRows": CSV_MOST_ROWS,
        "cellMostChars": CELL_MOST_CHARS,
        "shown": [c.name for c in shown],
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                "title": c.title,
                "list": c.is_list,
                "delimiter": c.delimiter,
                "vocabulary": c.vocabulary,
                "labels": c.labels,
                "link": page_name(c.link, lang) if c.link in names else None,
            }
            for c in columns
        ],  # fmt: skip
        "filters": specs,
        "searched": [c.name for c in columns if c.free_text][:FREE_TEXT_SEARCHED] + explorer.key,
        "sources": sources,
        "data": explorer.data_script,
        "parquet": explorer.parquet,
        "duckdb": f"../{duckdb_folder()}/" if explorer.engine == "duckdb" else None,
        "csvName": f"{resource}-{explorer.version}-filtered.csv",
        "texts": {key.removeprefix("explore_js_"): tr.template(key) for key in JS_TEXTS},
    }
    head = ""
    if explorer.engine == "duckdb":
        head = (
            f'<script src="../{duckdb_folder()}/{ARROW_FILE[1]}"></script>\n'
            '<script type="importmap">{"imports": {"apache-arrow": "../assets/arrow-shim.mjs"}}</script>'
        )
    config_json = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    body = [
        "<header>",
        f'<p class="crumbs"><a href="../{page_name("index", lang)}">{text(tr.ui("explore_back"))}</a></p>',
        language_switch(tr, languages, lambda code: page_name(resource, code)),
        f"<h1>{text(tr.ui('explore_heading', resource=title))}</h1>",
        f"<p>{text(tr.ui('explore_intro', version=explorer.version, rows=f'{explorer.total:,}'))}</p>",
        f'<nav aria-label="{text(tr.ui("explore_resources"))}"><p>{nav}</p></nav>',
        "</header>",
        "<main>",
        f'<noscript><p class="note">{text(tr.ui("explore_noscript", rows=len(static_rows)))}</p></noscript>',
        f'<form id="filters" class="filters" role="search" aria-label="{text(tr.ui("explore_filters"))}" hidden>',
        "".join(controls),
        f'<div class="control control-buttons"><button type="reset" id="reset">{text(tr.ui("explore_reset"))}</button></div>',
        "</form>",
        f'<p id="status" role="status" aria-live="polite">{text(tr.ui("explore_first_rows", shown=len(static_rows), total=f"{explorer.total:,}"))}</p>',
        f'<p class="downloads"><a id="download" href="../latest/{resource}.csv" download>{text(tr.ui("explore_download_all"))}</a></p>',
        f'<div class="table-scroll" role="region" aria-labelledby="records-caption" tabindex="0">'
        f'<table id="records"><caption id="records-caption">{text(tr.ui("explore_caption", resource=title))}</caption>',
        "<thead><tr>"
        + "".join(
            f'<th scope="col" data-column="{text(c.name)}"><span class="heading">{text(c.title)}</span></th>'
            for c in shown
        )
        + "</tr></thead>",
        "<tbody>" + "".join(_static_row(row, columns, shown, explorer.key, lang) for row in static_rows) + "</tbody>",
        "</table></div>",
        f'<nav id="pager" class="pager" aria-label="{text(tr.ui("explore_pages"))}" hidden>'
        f'<button type="button" id="previous">{text(tr.ui("explore_previous"))}</button>'
        f'<span id="page-number"></span>'
        f'<button type="button" id="next">{text(tr.ui("explore_next"))}</button></nav>',
        f'<section id="record" class="record" aria-labelledby="record-heading" tabindex="-1" hidden>'
        f'<h2 id="record-heading"></h2><dl id="record-fields"></dl>'
        f'<p><button type="button" id="record-close">{text(tr.ui("explore_close"))}</button></p></section>',
        "</main>",
        f'<script type="application/json" id="explore-config">{config_json}</script>',
    ]
    if explorer.data_script:
        body.append(f'<script src="{text(explorer.data_script)}"></script>')
    body.append('<script src="../assets/explore.js"></script>')
    return page(tr.ui("explore_heading", resource=title), "\n".join(body), model, tr, head=head, root="../")


JS_TEXTS = (
    "explore_js_status", "explore_js_none", "explore_js_page", "explore_js_download", "explore_js_too_many",
    "explore_js_loading", "explore_js_failed", "explore_js_needs_server", "explore_js_source",
    "explore_js_snapshot", "explore_js_record", "explore_js_not_found", "explore_js_sort_ascending",
    "explore_js_sort_descending", "explore_js_sort_by", "explore_js_yes", "explore_js_no",
)  # fmt: skip


def _localised(column: Column, resource: str, tr: Translation, values: list[str]) -> Column:
    labels = {code: tr.label(column.name, code) for code in values} if column.vocabulary else {}
    return Column(
        **{
            **column.__dict__,
            "title": tr.field(resource, column.name, "title", column.title),
            "description": tr.field(resource, column.name, "description", column.description),
            "labels": labels,
        }
    )


def _table_columns(columns: list[Column], key: list[str]) -> list[Column]:
    """The key, the first short free text (a title or name), then filters, dates and references."""
    chosen = [c for c in columns if c.name in key]
    title = next((c for c in columns if c.free_text and c.name not in key), None)
    if title is not None:
        chosen.append(title)
    for c in columns:
        if c not in chosen and (c.vocabulary or c.type in {"date", "year"} or c.link) and c.name != "source_id":
            chosen.append(c)
    return chosen[:TABLE_MOST_COLUMNS]


def _static_row(row: list[str], columns: list[Column], shown: list[Column], key: list[str], lang: str) -> str:
    """A row as explore.js draws it, for the page without a script."""

    index = {c.name: i for i, c in enumerate(columns)}
    cells = []
    for column in shown:
        value = row[index[column.name]]
        if column.name in key:
            record = "/".join(row[index[k]] for k in key)
            cells.append(f'<td><a href="#record={text(_hash_value(record))}">{text(value)}</a></td>')
        elif column.link and value:
            cells.append(
                f'<td><a href="{page_name(column.link, lang)}#record={text(_hash_value(value))}">{text(value)}</a></td>'
            )
        elif column.vocabulary and value:
            parts = value.split(column.delimiter) if column.is_list else [value]
            cells.append(f"<td>{text('; '.join(column.labels.get(p, p) for p in parts if p))}</td>")
        else:
            cells.append(f"<td>{text(_shorten(value))}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _hash_value(value: str) -> str:
    return quote(value, safe="")


def _shorten(value: str) -> str:
    return value if len(value) <= CELL_MOST_CHARS else value[: CELL_MOST_CHARS - 1].rstrip() + "…"


def country_counts(release: Path) -> dict[str, Counter[str]]:
    """Activities per country where they were held, and projects per participating country."""
    counts: dict[str, Counter[str]] = {"activities": Counter(), "projects": Counter()}
    for resource, name in (("activities", "country"), ("projects", "participating_countries")):
        path = release / f"{resource}.parquet"
        if not path.exists() or name not in pq.read_schema(path).names:
            continue  # a release without the resource or the field: no map of it
        column = pq.read_table(path, columns=[name]).column(0)
        if resource == "activities":
            for item in pc.value_counts(column.drop_null()).to_pylist():
                counts[resource][item["values"]] += item["counts"]
        else:  # each project once per country, however often its list names it
            for listed in column.to_pylist():
                counts[resource].update(set(listed or []))
    return counts


def map_page(
    model: dict[str, Any],
    counts: dict[str, Counter[str]],
    names: list[str],
    tr: Translation,
    translations: dict[str, Translation],
) -> str:
    """The map of the countries involved (country_counts' numbers), as SVG with the numbers beside it."""
    lang = tr.code
    sections = []
    for resource, heading_key, legend_key in (
        ("activities", "explore_map_activities", "explore_map_activities_legend"),
        ("projects", "explore_map_projects", "explore_map_projects_legend"),
    ):
        found = counts[resource]
        if not found:
            continue
        labels = {code: tr.label("country", code) for code in found}
        heading = tr.ui(heading_key)
        drawn = world_map(dict(found), labels, heading, tr.ui(legend_key))
        ranked = sorted(found.items(), key=lambda item: (-item[1], labels[item[0]]))
        rows = "".join(
            f'<tr data-country="{text(code)}"><th scope="row">{text(labels[code])} <code>{text(code)}</code></th>'
            f'<td class="number">{number(count)}</td></tr>'
            for code, count in ranked
        )
        missing = ""
        if drawn.missing:
            missing = "<p>" + text(
                tr.ui("explore_map_missing", countries=", ".join(f"{labels[c]} ({found[c]})" for c in drawn.missing))
            ) + "</p>"  # fmt: skip
        sections.append(
            f'<section id="map-{resource}" class="map"><h2>{text(heading)}</h2>'
            f'<div class="map-layout"><figure class="map-figure">{drawn.svg}{missing}</figure>'
            f'<table class="map-numbers"><caption>{text(heading)}</caption><thead><tr>'
            f'<th scope="col">{text(tr.ui("explore_map_country"))}</th>'
            f'<th scope="col">{text(tr.ui(legend_key))}</th></tr></thead><tbody>{rows}</tbody></table></div></section>'
        )
    nav = " · ".join(
        f'<a href="{page_name(n, lang)}">{text(tr.resource(n, "title", model["descriptions"].get(n, {}).get("title", n)))}</a>'
        for n in names
    )
    body = [
        "<header>",
        f'<p class="crumbs"><a href="../{page_name("index", lang)}">{text(tr.ui("explore_back"))}</a></p>',
        language_switch(tr, list(translations.values()), lambda code: page_name("map", code)),
        f"<h1>{text(tr.ui('explore_map_heading'))}</h1>",
        f"<p>{text(tr.ui('explore_map_intro', version=model['latest']))}</p>",
        f'<nav aria-label="{text(tr.ui("explore_resources"))}"><p>{nav}</p></nav>',
        "</header>",
        "<main>",
        *(sections or [f"<p>{text(tr.ui('explore_map_none'))}</p>"]),
        "</main>",
    ]
    return page(tr.ui("explore_map_heading"), "\n".join(body), model, tr, root="../")


def explorer_digest() -> str:
    """The static files' bytes, for the catalogue's digest (a new explore.js rebuilds the pages)."""
    digest = hashlib.sha256()
    for source in sorted(STATIC.iterdir()):
        digest.update(source.name.encode() + source.read_bytes())
    manifest = layout.PROJECT_ROOT / "web" / "packages.json"
    digest.update(manifest.read_bytes() if manifest.exists() else b"-")
    return digest.hexdigest()
