"""Benchmark: the nightly flow at scale (make bench).

Generates ROWS activity records spread over SOURCES partner sources, served by a
loopback HTTP server: CSV in four dialects (UTF-8 with quoted titles; Dutch Excel:
semicolons, Windows-1252, decimal commas, dd/mm/yyyy and Dutch labels; tab-separated
UTF-8 with a byte-order mark) and JSON with page-number pagination. Then, each step in a
fresh process:

1. the floor: the plainest pyarrow code that fetches the same bytes, decodes them
   (pyarrow's CSV reader with the source's encoding, delimiter and decimal point;
   json.loads of each page into an Arrow table) and writes them as Parquet;
2. the nightly flow on yesterday's data (about 2% fewer records, 1% different): the
   previous release;
3. the nightly flow on today's data: the measured run, whose publish step includes the
   keyed diff against the previous release;
4. the nightly flow again with nothing changed: it must publish nothing.

It prints each stage's time (collect, validate, publish and its parts), rows/s, peak
RSS and the ratios to the targets. Flow times are measured inside the flow, so
Prefect's start-up is excluded. The floor runs first, so that both it and the flow
find the files equally warm in the page cache.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 2.5  # total at most this many times the floor (issue 19)
TARGET_RSS_MB = 1024  # at 1,000,000 records
TARGET_RSS_LARGE_MB = 1536  # at 5,000,000
TARGET_SCALE = 5.5  # the time of 5,000,000 records at most this many times that of 1,000,000
TARGET_RERUN_SECONDS = 5.0
PORT_VARIABLE = "PARTNERDATA_BENCH_PORT"
PAGE_SIZE = 10_000  # JSON records per page
SETTINGS = """settings:
  publisher: {name: partnerdata bench, url: https://partnerdata.example.org}
  contact_point: {name: Open data desk, email: opendata@partnerdata.example.org}
  base_url: https://partnerdata.example.org/published/
  licence: CC-BY-4.0
"""

DIALECTS = ["utf8", "excel-nl", "tab-bom", "json"]
TYPES = ["guest_lecture", "learning_week", "workshop", "seminar", "study_visit"]
DUTCH_TYPES = {"guest_lecture": "Gastcollege", "learning_week": "Leerweek", "workshop": "Workshop",
               "seminar": "Seminarie", "study_visit": "Studiebezoek"}  # fmt: skip
THEMES = ["intercultural_pedagogy", "inclusive_education", "gender", "multilingualism", ""]
DUTCH_THEMES = {"intercultural_pedagogy": "Interculturele pedagogiek", "inclusive_education": "Inclusief onderwijs",
                "gender": "Gender", "multilingualism": "Meertaligheid", "": ""}  # fmt: skip
COUNTRIES = ["BE", "NL", "KE", "PE", "RW", "UG", "EC", "KH"]
DUTCH_COUNTRIES = {"BE": "België", "NL": "Nederland", "KE": "Kenia", "PE": "Peru", "RW": "Rwanda",
                   "UG": "Oeganda", "EC": "Ecuador", "KH": "Cambodja"}  # fmt: skip
CITIES = ["Leuven", "Geel", "Nairobi", "Lima", "Kigali", "Kampala", "Quito", "Phnom Penh", "Sint-Niklaas"]
HEADERS = {  # canonical field -> the partner's column, per CSV dialect
    "utf8": {"activity_id": "id", "activity_type": "type", "title": "title", "description": "description",
             "theme": "theme", "start_date": "start", "end_date": "end", "city": "city", "country": "country",
             "target_groups": "audience", "partner_countries": "partner countries",
             "participants_total": "participants", "participants_international": "international participants",
             "contact_hours": "hours"},
    "excel-nl": {"activity_id": "ID", "activity_type": "Type activiteit", "title": "Titel",
                 "description": "Omschrijving", "theme": "Thema", "start_date": "Startdatum",
                 "end_date": "Einddatum", "city": "Plaats", "country": "Land", "target_groups": "Doelgroepen",
                 "partner_countries": "Partnerlanden", "participants_total": "Deelnemers",
                 "participants_international": "Internationale deelnemers", "contact_hours": "Contacturen"},
}  # fmt: skip
HEADERS["tab-bom"] = HEADERS["utf8"]
JSON_COLUMNS = {"activity_id": "id", "activity_type": "kind", "title": "name", "description": "summary",
                "theme": "topic", "start_date": "period.start", "end_date": "period.end", "city": "place.city",
                "country": "place.country", "target_groups": "audiences", "partner_countries": "partners",
                "participants_total": "participants.total",
                "participants_international": "participants.international", "contact_hours": "hours"}  # fmt: skip


# ----------------------------------------------------------------------------- the data


def records(source: int, count: int, day: int) -> list[dict]:
    """A source's activities on a given day: day 0 lacks every 50th record and has 1% other titles;
    about 0.5% of the records break a rule (so a few are rejected, as on a real night)."""
    rng = random.Random(source)
    rows = []
    for i in range(count):
        start_day = 1 + i % 28
        row = {
            "activity_id": f"S{source:02d}-{i:07d}",
            "activity_type": rng.choice(TYPES),
            "title": f'Activity {i}, part {i % 7} of "{CITIES[i % len(CITIES)]}"',
            "description": "A learning week on inclusive education." if i % 3 == 0 else "",
            "theme": rng.choice(THEMES),
            "start": (2015 + i % 10, 3, start_day),
            "end": (2015 + i % 10, 4, start_day),
            "city": CITIES[rng.randrange(len(CITIES))],
            "country": rng.choice(COUNTRIES),
            "target_groups": ["teachers", "student_teachers"][: 1 + i % 2],
            "partner_countries": ["KE", "PE", "RW"][: i % 4],
            "participants_total": rng.randint(5, 200),
            "participants_international": rng.randint(0, 5),
            "contact_hours": rng.choice([2.5, 4, 12, 30.5]),
        }
        if day == 0 and i % 100 == 17:
            row["title"] += " (draft)"
        if rng.random() < 0.005:  # a rule broken: a negative count, a title too short or an unknown type
            broken = rng.choice(["participants_total", "title", "activity_type"])
            row[broken] = {"participants_total": -4, "title": "ab", "activity_type": "excursion"}[broken]
        if not (day == 0 and i % 50 == 49):
            rows.append(row)
    return rows


def _date(parts: tuple[int, int, int], dutch: bool) -> str:
    year, month, day = parts
    return f"{day:02d}/{month:02d}/{year}" if dutch else f"{year}-{month:02d}-{day:02d}"


def write_csv(path: Path, rows: list[dict], dialect: str) -> None:
    import csv

    dutch = dialect == "excel-nl"
    header = HEADERS[dialect]
    delimiter = {"utf8": ",", "excel-nl": ";", "tab-bom": "\t"}[dialect]
    encoding = {"utf8": "utf-8", "excel-nl": "cp1252", "tab-bom": "utf-8-sig"}[dialect]
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if dutch else "\n")
        writer.writerow(header.values())
        for row in rows:
            hours = row["contact_hours"]
            writer.writerow(
                [
                    row["activity_id"],
                    DUTCH_TYPES.get(row["activity_type"], row["activity_type"]) if dutch else row["activity_type"],
                    row["title"],
                    row["description"].replace("inclusive education", "inclusief onderwijs")
                    if dutch
                    else row["description"],
                    DUTCH_THEMES[row["theme"]] if dutch else row["theme"],
                    _date(row["start"], dutch),
                    _date(row["end"], dutch),
                    row["city"],
                    DUTCH_COUNTRIES[row["country"]] if dutch else row["country"],
                    ",".join(row["target_groups"]) if dutch else ";".join(row["target_groups"]),
                    ",".join(row["partner_countries"]) if dutch else ";".join(row["partner_countries"]),
                    row["participants_total"],
                    row["participants_international"],
                    str(hours).replace(".", ",") if dutch else hours,
                ]
            )


def write_json_pages(folder: Path, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(rows), PAGE_SIZE), start=1):
        page = [
            {
                "id": row["activity_id"],
                "kind": row["activity_type"],
                "name": row["title"],
                "summary": row["description"] or None,
                "topic": row["theme"] or None,
                "period": {"start": _date(row["start"], False), "end": _date(row["end"], False)},
                "place": {"city": row["city"], "country": row["country"]},
                "audiences": row["target_groups"],
                "partners": row["partner_countries"],
                "participants": {
                    "total": row["participants_total"],
                    "international": row["participants_international"],
                },
                "hours": row["contact_hours"],
                "contact": {"name": "Staff member", "email": "staff@example.org"},  # personal data: not mapped
            }
            for row in rows[start : start + PAGE_SIZE]
        ]
        document = {"data": page, "meta": {"page": number, "per_page": PAGE_SIZE}}
        (folder / f"{number}.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def source_entry(source: int, dialect: str) -> str:
    """The source's entry in sources.yaml."""
    name = f"s{source:02d}-{dialect}"
    lines = [
        f"  - source_id: {name}",
        f"    title: Bench partner {source} ({dialect})",
        "    organisation:",
        f"      id: BENCH-{source:02d}",
        f"      name: Bench partner {source}",
        "      type: ngo",
        "      country: BE",
        "    resource: activities",
        "    max_bytes: 1073741824  # 1 GiB: at 5,000,000 records a JSON source's pages are 110 MB together",
    ]
    if dialect == "json":
        lines += [
            f"    url: http://127.0.0.1:${{{PORT_VARIABLE}}}/api/{name}",
            "    format: json",
            "    json:",
            "      record_path: data",
            f"      pagination: {{style: page, page_param: page, size_param: per_page, size: {PAGE_SIZE}}}",
            "    columns:",
            *[f"      {field}: {column}" for field, column in JSON_COLUMNS.items()],
            "    constants: {programme: other}",
        ]
        return "\n".join(lines)
    lines += [f"    url: http://127.0.0.1:${{{PORT_VARIABLE}}}/files/{name}.csv", "    format: csv"]
    if dialect == "excel-nl":
        lines += [
            "    csv: {delimiter: ';', encoding: cp1252, decimal: ',', thousands: '.'}",
            '    date_format: "%d/%m/%Y"',
            '    list_separator: ","',
        ]
    elif dialect == "tab-bom":
        lines += ['    csv: {delimiter: "\\t", encoding: utf-8}', '    list_separator: ";"']
    else:
        lines += ["    csv: {delimiter: ',', encoding: utf-8}", '    list_separator: ";"']
    lines += ["    columns:", *[f"      {field}: {column}" for field, column in HEADERS[dialect].items()]]
    if dialect == "excel-nl":
        lines += [
            "    values:",
            "      activity_type: {" + ", ".join(f"{v}: {k}" for k, v in DUTCH_TYPES.items()) + "}",
            "      theme: {" + ", ".join(f"{v}: {k}" for k, v in DUTCH_THEMES.items() if k) + "}",
            "      country: {" + ", ".join(f"{v}: {k}" for k, v in DUTCH_COUNTRIES.items()) + "}",
        ]
    lines += ["    constants: {programme: enspired}"]
    return "\n".join(lines)


def generate(work: Path, rows: int, sources: int) -> list[dict]:
    """Both days' partner files, and sources.yaml. Returns one description per source."""
    per_source = [rows // sources + (1 if s < rows % sources else 0) for s in range(sources)]
    plan = []
    for source in range(sources):
        dialect = DIALECTS[source % len(DIALECTS)]
        name = f"s{source:02d}-{dialect}"
        for day in (0, 1):
            data = records(source, per_source[source], day)
            folder = work / f"day{day}"
            if dialect == "json":
                write_json_pages(folder / "api" / name, data)
            else:
                (folder / "files").mkdir(parents=True, exist_ok=True)
                write_csv(folder / "files" / f"{name}.csv", data, dialect)
        plan.append({"name": name, "dialect": dialect, "rows": per_source[source]})
    entries = "\n\n".join(source_entry(s, DIALECTS[s % len(DIALECTS)]) for s in range(sources))
    (work / "sources.yaml").write_text(f"{SETTINGS}\nsources:\n{entries}\n", encoding="utf-8")
    return plan


# ----------------------------------------------------------------------------- the server


class PartnerFiles:
    """Serves day<N>/files/<name>.csv and day<N>/api/<name>?page=P; `day` switches the data."""

    def __init__(self, work: Path) -> None:
        self.day = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlsplit(self.path)
                folder = work / f"day{served.day}"
                if url.path.startswith("/api/"):
                    page = parse_qs(url.query).get("page", ["1"])[0]
                    path = folder / "api" / url.path.removeprefix("/api/") / f"{int(page)}.json"
                    body = path.read_bytes() if path.exists() else b'{"data": [], "meta": {}}'
                    kind = "application/json"
                else:
                    path = folder / "files" / url.path.removeprefix("/files/")
                    if not path.is_file():
                        self.send_error(404)
                        return
                    body, kind = path.read_bytes(), "text/csv"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# ----------------------------------------------------------------------------- the floor


def floor(work: Path, plan: list[dict], port: int) -> dict:
    """Fetch, decode and write as Parquet the same bytes with the plainest pyarrow code."""
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq
    import requests

    out = work / "floor"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    started = time.perf_counter()
    rows = 0
    fetch_seconds = 0.0
    with requests.Session() as session:
        for source in plan:
            clock = time.perf_counter()
            if source["dialect"] == "json":  # each page parsed once: its length says whether another follows
                decoded, page = [], 1
                while True:
                    clock = time.perf_counter()
                    response = session.get(
                        f"http://127.0.0.1:{port}/api/{source['name']}?page={page}&per_page={PAGE_SIZE}"
                    )
                    fetch_seconds += time.perf_counter() - clock
                    records = json.loads(response.content)["data"]
                    if records:
                        decoded.append(pa.Table.from_pylist(records))
                    if len(records) < PAGE_SIZE:
                        break
                    page += 1
                table = pa.concat_tables(decoded, promote_options="permissive")
            else:
                body = session.get(f"http://127.0.0.1:{port}/files/{source['name']}.csv").content
                fetch_seconds += time.perf_counter() - clock
                delimiter = {"utf8": ",", "excel-nl": ";", "tab-bom": "\t"}[source["dialect"]]
                table = pv.read_csv(
                    io.BytesIO(body),
                    read_options=pv.ReadOptions(encoding="cp1252" if source["dialect"] == "excel-nl" else "utf8"),
                    parse_options=pv.ParseOptions(delimiter=delimiter),
                    convert_options=pv.ConvertOptions(decimal_point="," if source["dialect"] == "excel-nl" else "."),
                )
            pq.write_table(table, out / f"{source['name']}.parquet", compression="zstd")
            rows += table.num_rows
    total = time.perf_counter() - started
    return {
        "seconds": round(total, 3),
        "fetch_seconds": round(fetch_seconds, 3),
        "rows": rows,
        "peak_rss_mb": _peak_rss_mb(),
    }


# ----------------------------------------------------------------------------- the flow


def run_flow(work: Path) -> dict:
    """The nightly flow in this process, as `partnerdata run` calls it; its summary and peak RSS."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    sys.path.insert(0, str(ROOT))
    from flows.nightly import nightly

    memory = _MemoryByStage()
    state = nightly(
        sources_file=str(work / "sources.yaml"),
        raw_dir=str(work / "raw"),
        published_dir=str(work / "published"),
        reports_dir=str(work / "reports"),
        return_state=True,
    )
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    return {
        "state": state.name,
        "version": summary.get("version"),
        "message": summary["message"],
        "timings": summary["timings"],
        "publish_parts": summary.get("publish_parts", {}),
        "rows": summary.get("rows"),
        "changes": summary.get("changes"),
        "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_mb_by_stage": memory.stop(),
    }


class _MemoryByStage:
    """The flow process's RSS sampled every 20 ms, and the peak of each stage: collect (until the input
    fingerprint is taken), validate (until publish starts), then each part of publish as its stopwatch
    laps them (assemble, reports, write, diff, package, switch, catalogue)."""

    def __init__(self) -> None:
        from partnerdata.run import steps
        from partnerdata.util import timing

        self.samples: list[tuple[float, int]] = []
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        lap, fingerprint, publish = timing.Stopwatch.lap, steps.input_fingerprint, steps.publish
        marks = self.marks

        def marked_lap(watch: object, name: str) -> None:
            marks.append((time.perf_counter(), name))
            lap(watch, name)  # type: ignore[arg-type]

        def marked_fingerprint(*args: object, **kwargs: object) -> str:
            if not any(name == "collect" for _, name in marks):
                marks.append((time.perf_counter(), "collect"))
            return fingerprint(*args, **kwargs)  # type: ignore[arg-type]

        def marked_publish(*args: object, **kwargs: object) -> object:
            marks.append((time.perf_counter(), "validate"))
            return publish(*args, **kwargs)  # type: ignore[arg-type]

        timing.Stopwatch.lap = marked_lap  # type: ignore[method-assign]
        steps.input_fingerprint = marked_fingerprint  # type: ignore[assignment]
        steps.publish = marked_publish  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        status = Path("/proc/self/status")
        while not self._stop.wait(0.02):
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append((time.perf_counter(), int(line.split()[1]) // 1024))

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        peaks: dict[str, int] = {}
        start = self.samples[0][0] if self.samples else 0.0
        for end, name in sorted(self.marks):
            inside = [rss for at, rss in self.samples if start <= at <= end]
            if inside:
                peaks[name] = max(peaks.get(name, 0), *inside)
            start = end
        return peaks


def _peak_rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _child(step: str, work: Path, port: int, extra: list[str] | None = None) -> dict:
    """Run one step in a fresh process; it prints its result as the last line of stdout."""
    env = {**os.environ, PORT_VARIABLE: str(port), "PREFECT_HOME": str(work / ".prefect")}
    command = [sys.executable, __file__, "--child", step, "--work", str(work), "--port", str(port), *(extra or [])]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: step {step} failed with status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument(
        "--compare-rows", type=int, metavar="N", help="also measure N records, and print both side by side"
    )
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "scale")
    parser.add_argument("--child", choices=["floor", "flow"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.child == "floor":
        plan = json.loads((work / "plan.json").read_text())
        print(json.dumps(floor(work, plan, args.port)))
        return 0
    if args.child == "flow":
        print(json.dumps(run_flow(work)))
        return 0

    if args.compare_rows:
        small = measure(args.rows, args.sources, work / f"{args.rows}")
        large = measure(args.compare_rows, args.sources, work / f"{args.compare_rows}")
        print("\n".join(report(small) + report(large) + compare(small, large)), flush=True)
        return 0
    print("\n".join(report(measure(args.rows, args.sources, work))), flush=True)
    return 0


def measure(rows: int, sources: int, work: Path) -> dict:
    """Generate the data, then the previous release, the floor, today's run and the rerun, each in a
    fresh process; everything they measured."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    clock = time.perf_counter()
    print(f"bench: generating {rows:,} activity records over {sources} sources in {work} ...", flush=True)
    plan = generate(work, rows, sources)
    (work / "plan.json").write_text(json.dumps(plan))
    size = sum(f.stat().st_size for f in (work / "day1").rglob("*") if f.is_file())
    print(f"bench: generated in {time.perf_counter() - clock:.0f} s; today's files: {size / 1e6:.0f} MB", flush=True)
    server = PartnerFiles(work)

    print("bench: yesterday's nightly run (the previous release) ...", flush=True)
    previous = _child("flow", work, server.port)
    print(f"bench:   {previous['message']}; {_stages(previous['timings'])}", flush=True)

    server.day = 1
    print("bench: the floor (fetch, decode with pyarrow, write Parquet) on today's data ...", flush=True)
    plain = _child("floor", work, server.port)
    print("bench: today's nightly run ...", flush=True)
    today = _child("flow", work, server.port)
    print(f"bench:   {today['message']}", flush=True)
    print("bench: the same run again, nothing changed ...", flush=True)
    again = _child("flow", work, server.port)
    print(f"bench:   {again['message']}", flush=True)
    server.server.shutdown()
    timings = today["timings"]
    total = timings["collect"] + timings["validate"] + timings["publish"]
    result = {
        "rows": rows, "sources": sources, "dialects": sorted({p["dialect"] for p in plan}), "bytes": size,
        "floor": plain, "previous": previous, "today": today, "rerun": again, "total": total,
    }  # fmt: skip
    (work / "result.json").write_text(json.dumps(result, indent=2))
    return result


def report(result: dict) -> list[str]:
    """The figures of one size, against the targets."""
    today, plain, again, total = result["today"], result["floor"], result["rerun"], result["total"]
    timings = today["timings"]
    rerun = sum(again["timings"].values())
    published = sum(today["rows"].values()) if today["rows"] else 0
    rss_target = TARGET_RSS_MB if result["rows"] <= 1_000_000 else TARGET_RSS_LARGE_MB
    changes = today["changes"] or {}
    return [
        "",
        f"scale benchmark: {result['rows']:,} activity records, {result['sources']} sources "
        f"({', '.join(result['dialects'])}), {result['bytes'] / 1e6:.0f} MB over loopback HTTP",
        f"  floor (plain pyarrow)    {plain['seconds']:7.2f} s  (fetch {plain['fetch_seconds']:.2f} s)  "
        f"{plain['rows'] / plain['seconds']:,.0f} rows/s, peak RSS {plain['peak_rss_mb']} MB",
        f"  collect                  {timings['collect']:7.2f} s",
        f"  validate                 {timings['validate']:7.2f} s",
        f"  publish                  {timings['publish']:7.2f} s  ({_stages(today['publish_parts'])})",
        f"  total                    {total:7.2f} s  {result['rows'] / total:,.0f} rows/s; published {published:,} rows "
        f"as {today['version']} ({changes.get('bump')}: {'; '.join(changes.get('reasons', [])[:2])})",
        "",
        f"  total / floor            {total / plain['seconds']:7.2f}    target <= {TARGET_RATIO:g}   "
        f"{'met' if total <= TARGET_RATIO * plain['seconds'] else 'MISSED'}",
        f"  peak RSS                 {today['peak_rss_mb']:7d} MB target <= {rss_target} MB "
        f"{'met' if today['peak_rss_mb'] <= rss_target else 'MISSED'}",
        "  peak RSS by stage        "
        + ", ".join(f"{stage} {mb} MB" for stage, mb in today["peak_rss_mb_by_stage"].items()),
        f"  no-change rerun          {rerun:7.2f} s  "
        + (
            f"target <= {TARGET_RERUN_SECONDS:g} s, publishing nothing: "
            f"{'met' if rerun <= TARGET_RERUN_SECONDS and again['version'] is None else 'MISSED'} "
            if result["rows"] <= 1_000_000
            else f"(the target is for 1,000,000 records); published: {again['version'] or 'nothing'} "
        )
        + f"({_stages(again['timings'])})",
    ]


def compare(small: dict, large: dict) -> list[str]:
    """The two sizes side by side: the larger run's time against the smaller's, in the same benchmark run."""
    ratio = large["total"] / small["total"]
    allowed = TARGET_SCALE * large["rows"] / small["rows"] / 5
    return [
        "",
        f"{'':26}{small['rows']:>12,}{large['rows']:>12,}",
        f"{'  total':26}{small['total']:>11.2f}s{large['total']:>11.2f}s",
        f"{'  peak RSS':26}{small['today']['peak_rss_mb']:>9,} MB{large['today']['peak_rss_mb']:>9,} MB",
        f"  time {large['rows']:,} / {small['rows']:,}: {ratio:.2f} x, target <= {allowed:g} x "
        f"{'met' if ratio <= allowed else 'MISSED'}",
    ]


def _stages(timings: dict) -> str:
    return ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in timings.items() if not isinstance(seconds, dict))


if __name__ == "__main__":
    raise SystemExit(main())
