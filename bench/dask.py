"""Benchmark: the demo run in-process against `--dask-workers 2` (make bench-dask).

Each repeat runs `partnerdata run` on a fresh copy of the demo project, in a fresh process, once
with the flow's own thread pool and once on a local Dask cluster of two worker processes, and a
third process times the cluster alone (importing Dask, then LocalCluster with the run's settings and
preload, until both workers are ready; and its stop). Five repeats: a run's wall time moves by half a second or more
with the shared machine's load (and, until runs on a temporary server stopped sending heartbeats,
by up to a second with the phase of Prefect's heartbeat thread, which the end of a run waited for). Printed: the wall time of each, the run's own stage times
(collect, validate, publish, from its summary), and the check the issue asks for: the Dask run
costs no more than the cluster's start over the in-process run (against its start alone, and
against its start and stop). The medians of REPEATS runs, interleaved so that the machine's noise
falls on both alike.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORK = ROOT / ".bench" / "dask"
REPEATS = 5
CLUSTER_START = """
import sys, time
from partnerdata.cli import local_cluster_kwargs
assert "distributed" not in sys.modules  # as in a run: Dask is imported only to start the cluster
started = time.perf_counter()
from distributed import Client, LocalCluster  # part of the start: an in-process run never imports Dask
cluster = LocalCluster(**local_cluster_kwargs(2), preload=["flows.per_source"])  # as `run --dask-workers 2` starts it
with Client(cluster) as client:
    client.wait_for_workers(2)  # registered once the preload (the steps' imports, the schemas read once) is done
    ready = time.perf_counter() - started
stopping = time.perf_counter()
cluster.close()
print(f"{ready:.3f} {time.perf_counter() - stopping:.3f}")
"""


def run(mode: str, repeat: int) -> tuple[float, dict[str, float]]:
    """One `partnerdata run` on a fresh copy of the demo: its wall time and its stage times."""
    project = WORK / f"{mode}-{repeat}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy(ROOT / "sources.yaml", project / "sources.yaml")
    shutil.copytree(ROOT / "demo", project / "demo")
    extra = ["--dask-workers", "2"] if mode == "dask" else []
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "partnerdata"), "run", *extra], cwd=project, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{mode} run {repeat} ended with {done.returncode}:\n{done.stderr[-3000:]}")
    line = re.search(r"seconds: (.+)", done.stdout)
    stages = {m.group(1): float(m.group(2)) for m in re.finditer(r"(\w+) ([\d.]+)", line.group(1))} if line else {}
    return wall, stages


def cluster_start() -> tuple[float, float]:
    """A local cluster as the run starts it, alone in a fresh process: from importing Dask until both
    workers are ready, and its stop."""
    done = subprocess.run([sys.executable, "-c", CLUSTER_START], cwd=ROOT, capture_output=True, text=True, check=True)
    ready, stop = (float(x) for x in done.stdout.split()[-2:])
    return ready, stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    repeats = parser.parse_args().repeats
    walls: dict[str, list[float]] = {"in-process": [], "dask": []}
    stages: dict[str, list[dict[str, float]]] = {"in-process": [], "dask": []}
    clusters: list[tuple[float, float]] = []
    for repeat in range(repeats):
        for mode in ("in-process", "dask"):
            wall, parts = run(mode, repeat)
            walls[mode].append(wall)
            stages[mode].append(parts)
            times = ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
            print(f"  {mode} run {repeat + 1}: {wall:.1f} s ({times})", flush=True)
        clusters.append(cluster_start())
        print(
            f"  cluster {repeat + 1}: ready in {clusters[-1][0]:.1f} s, stopped in {clusters[-1][1]:.1f} s", flush=True
        )
    median = {mode: statistics.median(values) for mode, values in walls.items()}
    ready = statistics.median(c[0] for c in clusters)
    stop = statistics.median(c[1] for c in clusters)
    print(f"\nThe demo, median of {repeats} runs (each in a fresh process):")
    print(f"{'':30}{'wall':>8}{'collect':>9}{'validate':>10}{'publish':>9}")
    for mode in walls:
        parts = {k: statistics.median(p.get(k, 0.0) for p in stages[mode]) for k in ("collect", "validate", "publish")}
        print(
            f"{mode:30}{median[mode]:>7.1f}s{parts['collect']:>8.1f}s{parts['validate']:>9.1f}s{parts['publish']:>8.1f}s"
        )
    print(f"{'a local cluster of 2 workers':30}{ready:>7.1f}s to be ready, {stop:.1f} s to stop")
    extra = median["dask"] - median["in-process"]
    paired = statistics.median(d - i for d, i in zip(walls["dask"], walls["in-process"], strict=True))
    print(
        f"\nDask costs {extra:+.1f} s over the in-process run (dask / in-process = "
        f"{median['dask'] / median['in-process']:.2f}; the median of the {repeats} differences, run by run: "
        f"{paired:+.1f} s)"
    )
    for label, allowance in (("start", ready), ("start and stop", ready + stop)):
        verdict = "met" if extra <= allowance else "NOT met"
        print(f"  against the cluster's {label} ({allowance:.1f} s): target {verdict}")


if __name__ == "__main__":
    main()
