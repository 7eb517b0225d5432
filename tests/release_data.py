"""Release-ready tables from the bundled demo partners, made by the library without Prefect."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from partnerdata.assemble import assemble
from partnerdata.config import load_config
from partnerdata.paths import PROJECT_ROOT
from partnerdata.prepare import prepare_source
from partnerdata.privacy import scrub_free_text
from partnerdata.schemas import Schemas


def demo_tables(schemas: Schemas, work_dir: Path) -> dict[str, pa.Table]:
    config = load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={})
    prepared = [prepare_source(s, [Path(s.url)], schemas, work_dir) for s in config.sources]
    tables, _ = scrub_free_text(
        assemble(config, schemas, prepared).tables,
        schemas,
        {s.source_id: s.organisation.country for s in config.sources},
    )
    return tables
