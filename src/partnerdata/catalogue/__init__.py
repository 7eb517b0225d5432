"""The catalogue data users read: published/index.html, a page per release, catalog.json,
feed.xml and catalog.ttl (DCAT-AP 3), all rebuilt from the releases on disk.

``refresh_catalogue`` runs after every publish, withdrawal and pruning, and at the start of
every run: it compares a digest of its inputs with the one catalog.json records, so a
catalogue left behind by a crash is rebuilt, and a current one is left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from partnerdata.catalogue.charts import Chart, Counts, chart_counts, draw_charts
from partnerdata.catalogue.explore import EXPLORE, explorer_digest, write_explorer
from partnerdata.catalogue.feed import atom_feed
from partnerdata.catalogue.html import index_page, page_name, release_page
from partnerdata.catalogue.model import build_model, input_digest
from partnerdata.config import layout
from partnerdata.config.translations import load_translations, translation_digest
from partnerdata.util.files import fsync_path

CATALOG_JSON = "catalog.json"
CATALOG_TTL = "catalog.ttl"  # DCAT-AP 3.0.1
CATALOG_TTL_2 = "catalog-dcat-ap-2.ttl"  # the same, in the form DCAT-AP 2.1.1 wants, for portals still on it
FEED_XML = "feed.xml"
INDEX_HTML = "index.html"
TEMP_PREFIX = ".catalogue-"  # a page being written; renamed into place, or removed by the next refresh


def refresh_catalogue(
    published_dir: Path,
    base_url: str | None,
    force: bool = False,
    drawn: tuple[str, dict[str, list[Chart]]] | None = None,
) -> bool:
    """Rebuild the catalogue unless it is current; True when it was rebuilt.

    ``drawn`` is (version, {language code: charts}) when the caller drew that release's charts
    already (a run draws them while it writes the release); a language it lacks is drawn here."""
    published_dir = Path(published_dir)
    if not layout.releases_dir(published_dir).exists():
        return False
    digest = _digest(published_dir, base_url)
    if not force and _recorded_digest(published_dir) == digest:
        return False
    _remove_leftovers(published_dir)
    model = build_model(published_dir, base_url)
    translations = load_translations()
    languages = list(translations.values())
    for release in model["releases"]:
        folder = layout.release_dir(published_dir, release["version"])
        schemas = _release_schemas(folder) or model["schemas"]
        for tr in languages:
            _write(folder / page_name("index", tr.code), release_page(model, release, schemas, tr, languages))
    explored = write_explorer(published_dir, model, translations, _write)
    latest_dir = layout.release_dir(published_dir, model["latest"]) if model["latest"] else None
    ready = drawn[1] if drawn is not None and drawn[0] == model["latest"] else {}
    counts: Counts | None = None  # counted once, for the languages not drawn yet
    for tr in languages:
        if latest_dir is None:
            shown: list[Chart] = []
        elif tr.code in ready:
            shown = ready[tr.code]
        else:
            counts = counts or chart_counts(latest_dir)
            shown = draw_charts(counts, tr)
        _write(published_dir / page_name("index", tr.code), index_page(model, shown, tr, languages, explored))
    _write(published_dir / FEED_XML, atom_feed(model))
    if base_url:
        from partnerdata.catalogue.dcat import catalog_turtle

        _write(published_dir / CATALOG_TTL, catalog_turtle(model))
        _write(published_dir / CATALOG_TTL_2, catalog_turtle(model, profile="2.1.1"))
    else:
        for name in (CATALOG_TTL, CATALOG_TTL_2):  # no absolute URLs: no DCAT description
            (published_dir / name).unlink(missing_ok=True)
    # Last: its digest says the files above are current.
    _write(
        published_dir / CATALOG_JSON,
        json.dumps({**model, "generated_from": digest}, indent=2, ensure_ascii=False) + "\n",
    )
    return True


def _digest(published_dir: Path, base_url: str | None) -> str:
    """The model's inputs, the translations and the explorer's own files: a change to any rebuilds."""
    parts = [input_digest(published_dir, base_url), translation_digest(), explorer_digest()]
    return hashlib.sha256("-".join(parts).encode()).hexdigest()


def _recorded_digest(published_dir: Path) -> str | None:
    try:
        return json.loads((published_dir / CATALOG_JSON).read_text(encoding="utf-8")).get("generated_from")
    except (FileNotFoundError, ValueError):
        return None


def _release_schemas(folder: Path) -> dict | None:
    try:
        package = json.loads((folder / layout.DATAPACKAGE_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return {r["name"]: r["schema"] for r in package.get("resources", [])}


def _write(path: Path, text: str) -> None:
    """Write beside the target, then rename: a reader never sees half a page."""
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.", delete=False
    ) as out:
        try:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            Path(out.name).unlink(missing_ok=True)
            raise
    os.chmod(out.name, 0o644)
    os.replace(out.name, path)
    fsync_path(path.parent)


def _remove_leftovers(published_dir: Path) -> None:
    """Temporary files a crash left in published/ or a release folder."""
    extra = [published_dir / EXPLORE, published_dir / EXPLORE / "data", published_dir / "assets"]
    folders = [published_dir, *extra, *layout.releases_dir(published_dir).iterdir()]
    for folder in folders:
        if folder.is_dir() and not folder.name.startswith(layout.STAGING_PREFIX):
            for leftover in folder.glob(f"{TEMP_PREFIX}*"):
                leftover.unlink(missing_ok=True)
