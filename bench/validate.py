"""Benchmark: validating activity rows, partnerdata against frictionless-py (make bench-validate).

Generates ROWS activity rows (canonical columns, UTF-8, ISO dates) with 1% injected errors of
mixed kinds, then times, from the CSV bytes on disk to the list of findings:
- partnerdata's engine on all rows (pyarrow CSV reader, coercion, vectorised checks);
- frictionless-py on a SLICE-row slice of the same file with the same schema (error limit raised),
  scaled to rows/s;
and compares the (row, field, error type) findings on the slice. Foreign keys are left out (they
need the whole package) and so are list items (frictionless does not check itemEnum).
Each engine runs --repeat times, each time in a fresh process (so its peak RSS is its own);
the median time is reported.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schemas" / "activities.schema.json"
TYPES = ["guest_lecture", "learning_week", "workshop", "seminar", "study_visit"]
THEMES = ["intercultural_pedagogy", "inclusive_education", "gender", "multilingualism", ""]
COUNTRIES = ["BE", "NL", "KE", "PE", "RW", "UG", "EC", "KH"]
# error kind -> (field, the wrong value; a function of the row number where it depends on it)
INJECTIONS = {
    "missing_title": ("title", ""), "bad_type": ("activity_type", "lecture"), "bad_theme": ("theme", "citizenship"),
    "bad_date": ("start_date", "2019-02-30"), "bad_country": ("country", "XX"), "negative": ("participants_total", "-4"),
    "bad_id": ("activity_id", lambda i: f"#A{i}"), "duplicate": ("activity_id", lambda i: f"A-{max(0, i - 1):07d}"),
    "bad_integer": ("participants_total", "ten"), "short_title": ("title", "ab"), "long_title": ("title", "x" * 301),
    "bad_organiser": ("organiser_id", "ORG 1"), "bad_number": ("contact_hours", "2.5h"),
    "too_many": ("participants_total", "100001"), "missing_date": ("start_date", ""),
    "bad_programme": ("programme", "Erasmus+"), "missing_id": ("activity_id", ""), "long_city": ("city", "C" * 101),
}  # fmt: skip
ERRORS = sorted(INJECTIONS)


def bench_schema() -> dict:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schema.pop("foreignKeys", None)
    return schema


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    names = [f["name"] for f in bench_schema()["fields"]]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(names) + "\n")
        for i in range(rows):
            day = 1 + i % 28
            row = {
                "activity_id": f"A-{i:07d}", "source_id": "bench", "programme": "enspired",
                "activity_type": rng.choice(TYPES), "title": f"Activity number {i}", "description": "",
                "theme": rng.choice(THEMES), "start_date": f"2019-03-{day:02d}", "end_date": f"2019-04-{day:02d}",
                "city": "Leuven", "country": rng.choice(COUNTRIES), "organiser_id": "ORG-1", "project_id": "",
                "target_groups": "teachers;student_teachers", "partner_countries": "KE;PE",
                "participants_total": str(rng.randint(5, 200)), "participants_international": "1", "contact_hours": "2.5",
            }  # fmt: skip
            if rng.random() < 0.01:
                field, value = INJECTIONS[rng.choice(ERRORS)]
                row[field] = value(i) if callable(value) else value
            out.write(",".join(row.get(n, "") for n in names) + "\n")


def partnerdata_findings(path: Path) -> set[tuple[int, str, str]]:
    from partnerdata.readers import csv_reader
    from partnerdata.readers.base import positions_of
    from partnerdata.validate.checks import validate_table

    (read,) = csv_reader.read([path], csv_reader.parse_options({}, "bench"), ";")
    problems = validate_table(read.table, bench_schema()).problems
    found = set()
    for p, position in zip(problems, positions_of(read, [p.row for p in problems]), strict=True):
        if p.rule == "enum" and p.field in ("target_groups", "partner_countries"):
            continue  # list items: frictionless does not check them
        found.add((int(position.split()[-1]), p.field, FRICTIONLESS_TYPE.get(p.rule, "constraint-error")))
    return found


FRICTIONLESS_TYPE = {"type": "type-error", "primary-key": "primary-key", "unique": "unique-error"}


def frictionless_findings(path: Path) -> set[tuple[int, str, str]]:
    from frictionless import Resource, Schema

    descriptor = bench_schema()
    resource_ = Resource(path=path.name, basepath=str(path.parent), schema=Schema.from_descriptor(descriptor))
    report = resource_.validate(limit_errors=10_000_000)
    found = set()
    for row, field, kind in report.flatten(["rowNumber", "fieldName", "type"]):
        if kind == "primary-key":
            field = descriptor["primaryKey"][-1]
        found.add((row, field, kind))
    return found


def measure(engine: str, path: Path) -> None:
    """Run one engine in this process and print its time, findings count and peak RSS as JSON.
    Libraries are imported before the clock starts: their import is a fixed cost, not a rate."""
    import pandas  # noqa: F401  (pyarrow imports it on first use of Python values)

    if engine == "partnerdata":
        import partnerdata.readers.csv_reader  # noqa: F401  (the reader this benchmark uses)
        import partnerdata.validate.checks  # noqa: F401
    else:
        import frictionless  # noqa: F401
    started = time.perf_counter()
    found = partnerdata_findings(path) if engine == "partnerdata" else frictionless_findings(path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"seconds": seconds, "findings": sorted(found), "peak_mb": peak}))


def run(engine: str, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", engine, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _runs(results: list[dict]) -> str:
    return ", ".join(f"{r['seconds']:.2f}" for r in results) + " s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine; the median time is reported")
    parser.add_argument("--measure", nargs=2, metavar=("ENGINE", "CSV"))
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], Path(args.measure[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        full, part = Path(folder) / "activities.csv", Path(folder) / "slice.csv"
        print(f"generating {args.rows:,} activity rows with 1% injected errors ...", flush=True)
        generate(full, args.rows)
        with open(full, encoding="utf-8") as source, open(part, "w", encoding="utf-8") as out:
            for number, line in enumerate(source):
                if number > args.slice:
                    break
                out.write(line)
        ours = [run("partnerdata", full) for _ in range(args.repeat)]
        ours_slice = run("partnerdata", part)
        theirs = [run("frictionless", part) for _ in range(args.repeat)]
        ours_seconds = statistics.median(r["seconds"] for r in ours)
        theirs_seconds = statistics.median(r["seconds"] for r in theirs)
        ours_rate, theirs_rate = args.rows / ours_seconds, args.slice / theirs_seconds
        peak = max(r["peak_mb"] for r in ours)
        a, b = {tuple(f) for f in ours_slice["findings"]}, {tuple(f) for f in theirs[0]["findings"]}
        print(f"each engine ran {args.repeat} times, in a fresh process each; times are medians")
        print(
            f"partnerdata:   {args.rows:,} rows in {ours_seconds:.2f} s = {ours_rate:,.0f} rows/s, "
            f"{len(ours[0]['findings']):,} findings (runs: {_runs(ours)})"
        )
        print(
            f"frictionless:  {args.slice:,} rows in {theirs_seconds:.2f} s = {theirs_rate:,.0f} rows/s "
            f"(runs: {_runs(theirs)}; peak RSS {theirs[0]['peak_mb']} MB)"
        )
        print(f"ratio:         {ours_rate / theirs_rate:.1f} x frictionless-py (target: at least 50 x)")
        print(
            f"findings on the {args.slice:,}-row slice: partnerdata {len(a):,}, frictionless {len(b):,}, "
            f"identical: {'yes' if a == b else 'no'}"
        )
        for label, diff in (("only partnerdata", sorted(a - b)[:10]), ("only frictionless", sorted(b - a)[:10])):
            if diff:
                print(f"  {label}: {diff}")
        print(f"peak RSS for {args.rows:,} rows: {peak} MB, the highest of the runs (target: under 1,500 MB)")


if __name__ == "__main__":
    main()
