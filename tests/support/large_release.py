"""A published/ folder with one large release, for the explorer's scale test and bench/catalogue.py.

The tables are generated, not read from partners: ``activities`` activity rows plus about 500
organisations, 2,000 projects and their partners, every value one the schemas allow (each enum
value drawn from its schema's enum, identifiers of the schema's patterns, the row rules kept:
an end never before its start, international participants within the total, an activity inside
its project's dates). They are built with numpy and Arrow compute, never a Python loop over the
rows, so a million activities take a few seconds. The release itself is made by the library's
own ``publish_release``, as a run makes it.

A finished folder carries a marker (``large_release.json``, beside published/) that names the
(activities, seed) it holds, the generator's and the schemas' digests, and the publish step's
time; asked again for the same, ``large_release`` reuses the folder. It builds no catalogue:
the caller runs ``refresh_catalogue(published, None)`` (the bench times that step).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerdata.config import layout
from partnerdata.config.layout import PROJECT_ROOT, SCHEMAS_DIR
from partnerdata.config.schemas import Schemas
from partnerdata.config.sources import load_config
from partnerdata.validate.configuration import load_schemas

MARKER = "large_release.json"
ORGANISATIONS = 500
PROJECTS = 2_000
SOURCES = 20
PUBLISHED_AT = dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2014, 1, 1)
LAST_DAY = dt.date(2025, 12, 31)
EPOCH = dt.date(1970, 1, 1)
# Most partners are in Europe; the rest of the enum still appears, as in the real sources.
FREQUENT_COUNTRIES = ["BE", "NL", "DE", "FR", "ES", "IT", "FI", "IE", "MT", "PL", "PT", "SE", "KE", "PE", "RW", "UG"]

SUBJECTS = [
    "classroom", "assessment", "language teaching", "reading", "mathematics", "science education",
    "teacher mentoring", "school leadership", "parent involvement", "digital tools", "outdoor learning",
    "early childhood", "citizenship", "arts education", "special needs", "peer learning", "project work",
    "curriculum design", "feedback", "newcomer pupils", "well-being", "inquiry learning", "storytelling",
    "climate education", "home languages",
]  # fmt: skip
QUALITIES = ["Inclusive", "Multilingual", "Intercultural", "Playful", "Critical", "Collaborative", "Creative",
             "Sustainable", "Digital", "Reflective", "Participatory", "Evidence-based"]  # fmt: skip
FORMATS = ["a workshop", "a guest lecture", "a study visit", "a seminar", "a learning week", "a webinar",
           "a training course", "job shadowing", "a conference"]  # fmt: skip
CITIES = [
    "Leuven", "Gent", "Brussels", "Antwerpen", "Hasselt", "Brugge", "Mechelen", "Kortrijk", "Utrecht", "Tilburg",
    "Rotterdam", "Groningen", "Lille", "Lyon", "Bologna", "Granada", "Porto", "Tampere", "Cork", "Valletta",
    "Krakow", "Uppsala", "Nairobi", "Kisumu", "Kigali", "Huye", "Kampala", "Gulu", "Cusco", "Lima", "Quito",
    "Phnom Penh", "Hanoi", "Cotonou", "Parakou", "Bujumbura", "La Paz", "Cochabamba", "Dakar", "Accra",
]  # fmt: skip
OPENINGS = [
    "Teacher educators and student teachers meet colleagues from partner institutions.",
    "The participants compare how schools in both countries work on this theme.",
    "A visiting expert shares practice from their own teacher-education programme.",
    "Small groups try out a method in class and report back to each other.",
    "The session starts from questions student teachers brought from their internships.",
    "Colleagues from the partner college present a project they ran with local schools.",
]  # fmt: skip
MIDDLES = [
    "We look at examples from primary and secondary schools.",
    "Each participant prepares one lesson to try out afterwards.",
    "Pupils' work and video fragments are discussed in mixed groups.",
    "The programme includes school visits and a debriefing every afternoon.",
    "Attention goes to what works with diverse groups of pupils.",
    "The partners compare their curricula and assessment practice.",
    "Short talks alternate with practical exercises.",
]  # fmt: skip
CLOSINGS = [
    "The materials are shared on the partners' platform.",
    "A short report with recommendations follows.",
    "Participants receive a certificate of attendance.",
    "The results feed into next year's course.",
    "A follow-up meeting is planned online.",
]  # fmt: skip
ORGANISATION_KINDS = ["University College", "Teacher Training Institute", "Primary School", "Secondary School",
                      "Education Centre", "Foundation", "Network", "University"]  # fmt: skip
PROJECT_TOPICS = ["Inclusion - equity", "Teaching and learning of foreign languages", "Digital skills",
                  "Early school leaving", "Environment and climate change", "Creativity and culture",
                  "Civic engagement", "Quality improvement"]  # fmt: skip


def large_release(folder: Path, activities: int, seed: int = 1) -> Path:
    """folder/published with one release of ``activities`` generated activities; the published folder.

    Reused when folder's marker names the same (activities, seed), generator and schemas."""
    schemas = load_schemas(SCHEMAS_DIR)
    published = Path(folder) / "published"
    wanted = {"activities": activities, "seed": seed, "generator": _generator_digest(), "schemas": schemas.digest()}
    found = release_marker(folder)
    if found is not None and {k: found.get(k) for k in wanted} == wanted and _complete(published, found["version"]):
        return published
    shutil.rmtree(published, ignore_errors=True)
    (Path(folder) / MARKER).unlink(missing_ok=True)
    tables = generated_tables(schemas, activities, seed)
    published_as = publish_tables(tables, schemas, published, f"large-{activities}-{seed}")
    marker = {**wanted, "version": published_as["version"], "publish_seconds": published_as["seconds"],
              "publish_parts": published_as["parts"]}  # fmt: skip
    (Path(folder) / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return published


def release_marker(folder: Path) -> dict[str, Any] | None:
    """What large_release recorded in folder: activities, seed, version, publish_seconds and
    publish_parts (None: nothing yet)."""
    try:
        return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def publish_tables(tables: dict[str, pa.Table], schemas: Schemas, published: Path, fingerprint: str) -> dict[str, Any]:
    """publish_release as a run calls it (the project's package metadata, a source entry for each
    source_id in the tables): the version, the call's seconds and its parts (write, diff, package, switch)."""
    from partnerdata.release.publish import publish_release
    from partnerdata.run.steps import package_metadata
    from partnerdata.util.timing import Stopwatch

    config = load_config(PROJECT_ROOT / "sources.yaml", schemas, environ={})
    names = sorted({s for t in tables.values() for s in pc.unique(t.column("source_id")).to_pylist()})
    sources = [
        {
            "title": f"Activities of {name}", "source_id": name, "organisation": f"Partner {name}",
            "status": "fetched", "snapshot_fetched_at": "2026-11-25T02:00:00Z", "snapshot_sha256": "0" * 64,
            "snapshot_age_days": 0.0, "error": None, "path": f"https://{name}.example.org/export.csv",
        }
        for name in names
    ]  # fmt: skip
    metadata = package_metadata(config, schemas)
    stopwatch = Stopwatch()
    started = time.perf_counter()
    outcome = publish_release(
        tables, schemas, published, PUBLISHED_AT, fingerprint, {}, sources, {}, metadata, stopwatch
    )
    seconds = time.perf_counter() - started
    if outcome.version is None:
        raise RuntimeError(f"{published}: no release was published: {outcome.message}")
    return {"version": outcome.version, "seconds": round(seconds, 3), "parts": stopwatch.parts}


def generated_tables(schemas: Schemas, activities: int, seed: int = 1) -> dict[str, pa.Table]:
    """The four resources, as the schemas' Arrow types (published fields only)."""
    rng = np.random.default_rng(seed)
    sources = [f"partner-{i:02d}" for i in range(1, SOURCES + 1)]
    organisations = _organisations(schemas, rng, sources)
    projects, coordinators = _projects(schemas, rng, sources, organisations)
    partners = _project_partners(schemas, rng, projects, coordinators, organisations)
    activity_table = _activities(schemas, rng, sources, organisations, projects, activities)
    columns = {"organisations": organisations, "projects": projects, "project_partners": partners,
               "activities": activity_table}  # fmt: skip
    return {name: _table(schemas, name, columns[name]) for name in columns}


# --- the resources -------------------------------------------------------------------------------


def _organisations(schemas: Schemas, rng: np.random.Generator, sources: list[str]) -> dict[str, pa.Array]:
    n = ORGANISATIONS
    city = rng.integers(0, len(CITIES), n)
    return {
        "organisation_id": _ids("E1", np.arange(n) * 7919 % 10_000_000, 7),  # spread like the EU's PIC numbers
        "source_id": _pick(sources, rng.integers(0, len(sources), n)),
        "name": _join(
            _pick(ORGANISATION_KINDS, rng.integers(0, len(ORGANISATION_KINDS), n)),
            " ",
            _pick(CITIES, city),
            " ",
            _text(np.arange(n) + 1),
        ),  # fmt: skip
        "organisation_type": _enum_values(schemas, "organisations", "organisation_type", rng, n),
        "city": _pick(CITIES, city),
        "region": pa.nulls(n, pa.string()),
        "country": _countries(schemas, "organisations", "country", rng, n),
    }


def _projects(
    schemas: Schemas, rng: np.random.Generator, sources: list[str], organisations: dict[str, pa.Array]
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The projects, and the organisation (its position) that coordinates each."""
    n = PROJECTS
    call_year = rng.integers(2014, 2024, n)
    start = np.array([_day(dt.date(int(y), 1, 1)) for y in range(2014, 2024)])[call_year - 2014]
    start = start + rng.integers(150, 300, n)  # a project starts in the second half of its call year
    end = start + rng.integers(365, 3 * 365, n)
    end = np.minimum(end, _day(LAST_DAY))
    coordinator = rng.integers(0, ORGANISATIONS, n)
    # 2018-1-BE02-KA101-046789: call year, round, national agency, key action, number
    agency = _pick(["BE02", "BE03", "NL01", "DE02", "FR01", "ES01", "FI01", "IT02"], rng.integers(0, 8, n))
    action = _pick(["KA101", "KA121", "KA122", "KA201", "KA220"], rng.integers(0, 5, n))
    project_id = _join(_text(call_year), "-1-", agency, "-", action, "-", _padded(np.arange(n) + 10_000, 6))
    sector = _enum_values(schemas, "projects", "sector", rng, n)
    columns = {
        "project_id": project_id,
        "source_id": _pick(sources, rng.integers(0, len(sources), n)),
        "programme": _enum_values(schemas, "projects", "programme", rng, n),
        "key_action": _enum_values(schemas, "projects", "key_action", rng, n),
        "action_type": _join(pa.array(["Staff mobility in "] * n), pc.replace_substring(sector, "_", " ")),
        "sector": sector,
        "call_year": pa.array(call_year, pa.int32()),
        "title": _join(
            _pick(QUALITIES, rng.integers(0, len(QUALITIES), n)),
            " ",
            _pick(SUBJECTS, rng.integers(0, len(SUBJECTS), n)),
            " across borders",
        ),  # fmt: skip
        "summary": _sentences(rng, n),
        "status": _enum_values(schemas, "projects", "status", rng, n),
        "start_date": _dates(start),
        "end_date": _dates(end),
        "eu_grant_eur": pa.array(np.round(rng.uniform(5_000, 400_000, n), 2)),
        "coordinator_id": organisations["organisation_id"].take(pa.array(coordinator)),
        "participating_countries": _list_of(schemas, "projects", "participating_countries", rng, n, most=4, least=1),
        "results_url": _join(pa.array(["https://erasmus-plus.ec.europa.eu/projects/search/details/"] * n), project_id),
        "topics": _list_from(PROJECT_TOPICS, rng, n, most=3, least=0),
        "is_good_practice": pa.array(rng.random(n) < 0.1),
        "is_success_story": pa.array(rng.random(n) < 0.03),
        "has_results": pa.array(rng.random(n) < 0.4),
        "currency": _pick(["EUR"], np.zeros(n, np.int64)),
    }
    return columns, coordinator


def _project_partners(
    schemas: Schemas,
    rng: np.random.Generator,
    projects: dict[str, pa.Array],
    coordinator: np.ndarray,
    organisations: dict[str, pa.Array],
) -> dict[str, pa.Array]:
    """Each project's coordinator, then 1 to 4 other organisations (never one twice in a project)."""
    n = PROJECTS
    others = rng.integers(1, 5, n)
    roles = [r for r in _enum(schemas, "project_partners", "role") if r != "coordinator"]
    project = np.concatenate([np.arange(n), np.repeat(np.arange(n), others)])
    within = np.concatenate([np.zeros(n, np.int64), _positions(others) + 1])
    # the j-th partner sits j*97 + (0..96) places after the coordinator: distinct for j <= 4 (< 500 places)
    step = rng.integers(0, 97, len(project))
    organisation = np.where(
        within == 0, coordinator[project], (coordinator[project] + within * 97 + step) % ORGANISATIONS
    )
    role = np.where(within == 0, "coordinator", np.array(roles)[rng.integers(0, len(roles), len(project))])
    order = np.lexsort((within, project))
    return {
        "project_id": projects["project_id"].take(pa.array(project[order])),
        "organisation_id": organisations["organisation_id"].take(pa.array(organisation[order])),
        "role": pa.array(role[order]),
        "source_id": projects["source_id"].take(pa.array(project[order])),
    }


def _activities(
    schemas: Schemas,
    rng: np.random.Generator,
    sources: list[str],
    organisations: dict[str, pa.Array],
    projects: dict[str, pa.Array],
    n: int,
) -> dict[str, pa.Array]:
    length = rng.choice([0, 0, 0, 1, 2, 4], n)  # most events last a day
    start = rng.integers(_day(FIRST_DAY), _day(LAST_DAY) - 4, n)
    in_project = rng.random(n) < 0.3
    project = rng.integers(0, PROJECTS, n)
    # An activity of a project lies inside the project's dates (rules.yaml: inside-project-dates).
    first = pc.cast(projects["start_date"], pa.int32()).to_numpy()[project]
    last = pc.cast(projects["end_date"], pa.int32()).to_numpy()[project]
    start = np.where(in_project, first + (rng.random(n) * (last - first - length)).astype(np.int64), start)
    city = rng.integers(0, len(CITIES), n)
    total = rng.integers(5, 300, n)
    theme = _enum_values(schemas, "activities", "theme", rng, n)
    return {
        "activity_id": _ids("ACT-", np.arange(1, n + 1), max(7, len(str(n)))),
        "source_id": _pick(sources, rng.integers(0, len(sources), n)),
        "programme": _enum_values(schemas, "activities", "programme", rng, n),
        "activity_type": _enum_values(schemas, "activities", "activity_type", rng, n),
        "title": _join(
            _pick(QUALITIES, rng.integers(0, len(QUALITIES), n)),
            " ",
            _pick(SUBJECTS, rng.integers(0, len(SUBJECTS), n)),
            ": ",
            _pick(FORMATS, rng.integers(0, len(FORMATS), n)),
            " in ",
            _pick(CITIES, city),
        ),  # fmt: skip
        "description": _with_nulls(_sentences(rng, n), rng.random(n) < 0.15),
        "theme": _with_nulls(theme, rng.random(n) < 0.12),
        "start_date": _dates(start),
        "end_date": _dates(start + length),
        "city": _with_nulls(_pick(CITIES, city), rng.random(n) < 0.05),
        "country": _countries(schemas, "activities", "country", rng, n),
        "organiser_id": organisations["organisation_id"].take(pa.array(rng.integers(0, ORGANISATIONS, n))),
        "project_id": _with_nulls(projects["project_id"].take(pa.array(project)), ~in_project),
        "target_groups": _list_of(schemas, "activities", "target_groups", rng, n, most=3, least=1),
        "partner_countries": _list_of(schemas, "activities", "partner_countries", rng, n, most=3, least=0),
        "participants_total": pa.array(total),
        "participants_international": pa.array((total * rng.random(n) * 0.5).astype(np.int64)),
        "contact_hours": pa.array(rng.integers(2, 80, n) / 2),
    }


# --- values --------------------------------------------------------------------------------------


def _table(schemas: Schemas, name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = schemas.arrow_schema(name, published=True)
    arrays = [columns[f.name] if f.name in columns else pa.nulls(_rows(columns), f.type) for f in schema]
    return pa.Table.from_arrays([a.cast(f.type) for a, f in zip(arrays, schema, strict=True)], schema=schema)


def _rows(columns: dict[str, pa.Array]) -> int:
    return len(next(iter(columns.values())))


def _enum(schemas: Schemas, resource: str, field: str) -> list[str]:
    spec = next(f for f in schemas.fields(resource) if f["name"] == field)
    return list(spec.get("constraints", {}).get("enum") or spec["itemEnum"])


def _enum_values(schemas: Schemas, resource: str, field: str, rng: np.random.Generator, n: int) -> pa.Array:
    """Codes of the field's enum, some more often than others (as in real data: a Zipf-like spread)."""
    codes = _enum(schemas, resource, field)
    weights = 1 / np.arange(1, len(codes) + 1) ** 0.8
    return _pick(codes, rng.choice(len(codes), n, p=weights / weights.sum()))


def _countries(schemas: Schemas, resource: str, field: str, rng: np.random.Generator, n: int) -> pa.Array:
    """Two thirds from the partners' frequent countries, the rest from anywhere in the enum."""
    codes = _enum(schemas, resource, field)
    frequent = np.array([codes.index(c) for c in FREQUENT_COUNTRIES])
    index = np.where(rng.random(n) < 0.67, frequent[rng.integers(0, len(frequent), n)], rng.integers(0, len(codes), n))
    return _pick(codes, index)


def _list_of(
    schemas: Schemas, resource: str, field: str, rng: np.random.Generator, n: int, most: int, least: int
) -> pa.Array:
    return _list_from(_enum(schemas, resource, field), rng, n, most, least)


def _list_from(items: list[str], rng: np.random.Generator, n: int, most: int, least: int) -> pa.Array:
    """Lists of least..most distinct items: the i-th item ``step`` places after the first (step is
    prime to len(items), so the items of a list never repeat); an empty list is written as null."""
    sizes = rng.integers(least, most + 1, n)
    step = next(s for s in (17, 13, 11, 7, 5, 3) if len(items) % s)
    first = np.repeat(rng.integers(0, len(items), n), sizes)
    values = _pick(items, (first + _positions(sizes) * step) % len(items))
    offsets = pa.array(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, values, mask=pa.array(sizes == 0))


def _positions(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ..., size-1 for each size, concatenated."""
    ends = np.cumsum(sizes)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - sizes, sizes)


def _sentences(rng: np.random.Generator, n: int) -> pa.Array:
    return _join(_pick(OPENINGS, rng.integers(0, len(OPENINGS), n)), " ",
                 _pick(MIDDLES, rng.integers(0, len(MIDDLES), n)), " ",
                 _pick(CLOSINGS, rng.integers(0, len(CLOSINGS), n)))  # fmt: skip


def _pick(words: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(words, pa.string()).take(pa.array(index))


def _join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate arrays (and literal strings) element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def _text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(numbers), pa.string())


def _padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_text(numbers), width, "0")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return _join(prefix, _padded(numbers, width))


def _with_nulls(values: pa.Array, missing: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(missing), pa.nulls(len(values), values.type), values)


def _day(day: dt.date) -> int:
    return (day - EPOCH).days


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32())


# --- the release ---------------------------------------------------------------------------------


def _complete(published: Path, version: str | None) -> bool:
    """The marker's release is there and latest names it (a folder from an interrupted run is not)."""
    from partnerdata.release.store import current_release

    if not version or not (layout.release_dir(published, version) / "SHA256SUMS").exists():
        return False
    current = current_release(published)
    return current is not None and current.get("version") == version


def _generator_digest() -> str:
    """This file's bytes: a changed generator makes a new release, never reuses an old one."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
