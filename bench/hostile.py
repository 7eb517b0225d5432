"""Benchmark: hostile and broken partner files against the same run without them (make bench-hostile).

Each case is a project of two partner sources: 'good', a CSV of 20,000 activity records, and
'bad', the hostile file (a bomb, a corrupt workbook, a server that drips). The baseline is
the same project with a small valid file as 'bad'. Every case runs the nightly flow once in a
fresh process, as `partnerdata run` does, and reports the outcome for 'bad' (the limit or
the reason that refused it), the run's wall time inside the flow (Prefect's start excluded)
and the flow process's peak RSS, against the baseline's. The promise checked: a hostile file
fails as its own source, quickly, and a run with it stays within a few hundred MB of the run
without it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import hostile_files  # noqa: E402 (the project root is on the path only now)
from tests.support.partner_server import PartnerServer, Response  # noqa: E402

GOOD_ROWS = 20_000
COLUMNS = {"activity_id": "id", "title": "title", "start_date": "start"}
CONSTANTS = {"programme": "enspired", "activity_type": "seminar", "country": "BE"}
FEW_HUNDRED_MB = 400  # the promise: a hostile file costs at most this much more than the run without it


def cases(server: PartnerServer) -> dict[str, tuple[dict, object]]:
    """name -> (the 'bad' entry, a function that writes its file into the project folder, or None)."""
    drip = server.serve("/drip.csv", Response(200, b"id,title,start\n" + b"D-1,Drip,2021-01-01\n" * 50, drip=2.0))
    first = b'{"items": [{"id": "P-1", "title": "Paged", "start": "2021-06-01"}], "next": "/api?page=2"}'
    flood = b"[" + b",".join([b"{}"] * 6_000_000) + b"]"
    pages = server.serve("/api", lambda path, headers: Response(200, flood if "page=2" in path else first))
    return {
        "baseline (a valid 3-row workbook)": ({"url": "bad.xlsx", "format": "xlsx"}, hostile_files.workbook),
        "XLSX: shared strings expand to 170 MB": (
            {"url": "bad.xlsx", "format": "xlsx"},
            hostile_files.shared_strings_bomb,
        ),
        "XLSX: 95 MB of shared strings (under max_bytes)": (
            {"url": "bad.xlsx", "format": "xlsx"},
            lambda path: hostile_files.shared_strings_bomb(path, megabytes=95),
        ),
        "XLSX: 20,000 rows reach column XFD": (
            {"url": "bad.xlsx", "format": "xlsx"},
            lambda path: hostile_files.cells_to_xfd(path, rows=20_000),
        ),
        "XLSX: a 1 MB shared string in 1,000 cells (8 KB)": (
            {"url": "bad.xlsx", "format": "xlsx"},
            hostile_files.repeated_shared_string,
        ),
        "XLSX: bad shared-string index": ({"url": "bad.xlsx", "format": "xlsx"}, hostile_files.bad_shared_string_index),
        "XLSX: cut-off sheet": ({"url": "bad.xlsx", "format": "xlsx"}, hostile_files.cut_off_sheet),
        "XLSX: flipped byte (zlib)": ({"url": "bad.xlsx", "format": "xlsx"}, hostile_files.flipped_byte),
        "XLSX: billion laughs in the sheet": ({"url": "bad.xlsx", "format": "xlsx"}, hostile_files.entity_in_sheet),
        "IATI: 98 MB of nested elements": (
            {"url": "bad.xml", "format": "iati"},
            lambda path: hostile_files.deep_xml(path, depth=14_000_000),
        ),
        "JSON: nested 200,000 deep": ({"url": "bad.json", "format": "json"}, hostile_files.deep_json),
        "JSON: 10 million empty objects (30 MB)": (
            {"url": "bad.json", "format": "json"},
            hostile_files.json_object_flood,
        ),
        "JSON: 2.4 million empty objects (under max_cells)": (
            {"url": "bad.json", "format": "json"},
            lambda path: hostile_files.json_object_flood(path, megabytes=7),
        ),
        "JSON: 1.2 million one-key objects (under max_cells)": (
            {"url": "bad.json", "format": "json"},
            _one_key_objects,
        ),
        "CSV: a header of 100,000 columns": ({"url": "bad.csv", "format": "csv"}, _wide_csv),
        "API: a page of 6 million empty objects": (
            {
                "url": pages,
                "format": "json",
                "retries": 0,
                "json": {"record_path": "items", "pagination": {"style": "next_link"}},
            },
            None,
        ),  # fmt: skip
        "HTTP: one byte every 2 s (max_total_seconds 10)": (
            {"url": drip, "format": "csv", "max_total_seconds": 10, "timeout_seconds": 5, "retries": 0},
            None,
        ),
        "local url /dev/zero": ({"url": "/dev/zero", "format": "csv"}, None),
    }


def _one_key_objects(path: Path) -> Path:
    """The JSON that costs the most memory per value max_cells counts: objects of one member."""
    path.write_bytes(b"[" + b",".join([b'{"a":1}'] * 1_240_000) + b"]")
    return path


def _wide_csv(path: Path) -> Path:
    path.write_text("id,title,start" + "," * 100_000 + "\nW-1,Wide,2021-01-01\n", encoding="utf-8")
    return path


def make_project(folder: Path, bad: dict, write) -> None:
    folder.mkdir(parents=True)
    lines = ["id,title,start"] + [f"G-{n},Seminar number {n},2021-05-{n % 28 + 1:02d}" for n in range(GOOD_ROWS)]
    (folder / "good.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    good = {
        "source_id": "good", "organisation": {"id": "ORG-G", "name": "Good college", "country": "BE"},
        "url": "good.csv", "format": "csv", "resource": "activities", "columns": dict(COLUMNS),
        "constants": dict(CONSTANTS),
    }  # fmt: skip
    entry = {"source_id": "bad", "organisation": {"id": "ORG-B", "name": "Bad college", "country": "NL"}, **bad}
    if bad["format"] not in ("iati", "erasmus_plus"):
        entry |= {"resource": "activities", "columns": dict(COLUMNS), "constants": dict(CONSTANTS)}
    if write is not None:
        write(folder / bad["url"])
    document = {"settings": {}, "sources": [good, entry]}
    (folder / "sources.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def run_child(folder: Path) -> dict:
    """The nightly flow in this process; what became of 'bad', the flow's time and the peak RSS."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.nightly import nightly

    state = nightly(
        sources_file=str(folder / "sources.yaml"), raw_dir=str(folder / "raw"), published_dir=str(folder / "published"),
        reports_dir=str(folder / "reports"), return_state=True,
    )  # fmt: skip
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        return {"outcome": f"run failed: {type(summary).__name__}: {summary}", "seconds": None, "peak_rss_mb": _peak()}
    bad = next(s for s in summary["sources"] if s["source_id"] == "bad")
    good = next(s for s in summary["sources"] if s["source_id"] == "good")
    return {
        "outcome": f"{bad['status']}: {bad['error'] or 'read'}",
        "good": f"{good['status']}, {good.get('rows_accepted')} rows",
        "seconds": round(sum(summary["timings"].values()), 2),
        "peak_rss_mb": _peak(),
    }


def _peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "hostile")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", help="run only the cases whose name contains this text (and the baseline)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child)))
        return 0
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = PartnerServer()
    server.start()
    env = {**os.environ, "PREFECT_HOME": str(work / ".prefect")}
    results = {}
    for number, (name, (bad, write)) in enumerate(cases(server).items()):
        if args.only and number and args.only.lower() not in name.lower():
            continue
        folder = work / f"case-{number:02d}"
        make_project(folder, bad, write)
        size = (folder / bad["url"]).stat().st_size if write is not None else None
        print(f"bench-hostile: {name} ...", flush=True)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(folder)], env=env, stdout=subprocess.PIPE, text=True, check=False
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise SystemExit(f"bench-hostile: case {name!r} failed with status {done.returncode}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["process_seconds"] = round(time.perf_counter() - started, 1)
        result["file_bytes"] = size
        results[name] = result
        shutil.rmtree(folder)  # the bombs are large once written out
    server.stop()
    baseline = results["baseline (a valid 3-row workbook)"]
    lines = ["", f"hostile-input benchmark: 'good' has {GOOD_ROWS:,} rows; each case adds one hostile source 'bad'", ""]
    lines.append(f"  {'case':<50} {'file':>9} {'flow s':>7} {'peak RSS':>9} {'vs base':>8}  outcome for 'bad'")
    worst = 0
    for name, result in results.items():
        extra = result["peak_rss_mb"] - baseline["peak_rss_mb"]
        worst = max(worst, extra)
        size = f"{result['file_bytes'] / 1e6:.1f} MB" if result["file_bytes"] else ""
        seconds = f"{result['seconds']:.1f}" if result["seconds"] is not None else "-"
        outcome = " ".join(result["outcome"].split())[:110]
        lines.append(f"  {name:<50} {size:>9} {seconds:>7} {result['peak_rss_mb']:>6} MB {extra:>+5} MB  {outcome}")
    lines += [
        "",
        f"  the most a hostile file added to the peak RSS: {worst} MB (promise: <= {FEW_HUNDRED_MB} MB): "
        f"{'met' if worst <= FEW_HUNDRED_MB else 'MISSED'}",
    ]
    print("\n".join(lines), flush=True)
    (work / "result.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
