"""Release-ready tables from the bundled demo partners, made by the library without Prefect."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from partnerdata.config.layout import PROJECT_ROOT
from partnerdata.config.schemas import Schemas
from partnerdata.config.sources import load_config
from partnerdata.validate.across import assemble
from partnerdata.validate.privacy import scrub_free_text
from partnerdata.validate.source import prepare_source


def demo_tables(schemas: Schemas, work_dir: Path) -> dict[str, pa.Table]:
    config = load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={})
    prepared = [prepare_source(s, [Path(s.url)], schemas, work_dir) for s in config.sources]
    tables, _ = scrub_free_text(
        assemble(config, schemas, prepared).tables,
        schemas,
        {s.source_id: s.organisation.country for s in config.sources},
    )
    return tables


def catalogue_site(schemas: Schemas, folder: Path, base_url: str) -> Path:
    """A published/ folder as data users find it: releases 1.0.0, 1.0.1 (current) and 1.0.2
    (withdrawn), with the catalogue built as a run builds it. Returns the published folder."""
    import datetime as dt

    from partnerdata.catalogue import refresh_catalogue
    from partnerdata.release.publish import publish_release
    from partnerdata.release.withdraw import withdraw_release
    from partnerdata.run.steps import package_metadata

    config = load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={})
    tables = demo_tables(schemas, folder / "work")
    published = folder / "published"
    sources = [
        {
            "title": s.title,
            "source_id": s.source_id,
            "organisation": s.organisation.name,
            "status": "fallback" if s.source_id == "btc-guest-lectures" else "fetched",
            "snapshot_fetched_at": "2026-11-24T02:00:05Z",
            "snapshot_sha256": "0" * 64,
            "snapshot_age_days": 1.0,
            "error": "HTTP 503 from the partner's server" if s.source_id == "btc-guest-lectures" else None,
            "path": s.url_template,
        }
        for s in config.sources
    ]
    projects = tables["projects"]
    titles = projects.column("title").to_pylist()
    for day, suffix in enumerate(["", " (corrected)", " (wrong)"]):
        retitled = pa.array([titles[0] + suffix, *titles[1:]])
        changed = {
            **tables,
            "projects": projects.set_column(projects.schema.get_field_index("title"), "title", retitled),
        }
        publish_release(
            changed, schemas, published, dt.datetime(2026, 11, 20 + day, 2, tzinfo=dt.UTC), f"fp{day}", {}, sources,
            {}, package_metadata(config, schemas),
        )  # fmt: skip
    withdraw_release(
        published, "1.0.2", "a project title was wrong", "tester", dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    )
    refresh_catalogue(published, base_url)
    return published
