"""A run whose raw/ is in a bucket, and tasks that share no disk with the process that started the run.

raw/ in a bucket is worked on through a local mirror per process (``raw_mirrored``): a step pulls the
source folders it needs (``<source_id>/``: the checks log, each snapshot's meta.json, and only the
bodies it reads), works on them as on a folder, and pushes back what it changed (storage/mirror.py:
a snapshot's files write-once, its meta.json last). Within a run each source's folder is changed by one
task at a time (collect, then validate, then publish), and the run's lease on the raw location keeps
every other run out (run/places.py).

What a task hands the next one names a snapshot by its place in raw/ (``<source_id>/<name>``), never
by a path: ``portable`` before it leaves a task, ``localised`` when a step takes it up again.

On a Dask cluster whose workers may be other machines, with raw/ in a bucket, the run's inputs
go through the bucket too (``ship_inputs``: sources.yaml and the schemas, under ``.runs/<run>/`` of
the raw location), and so do the staged rows validation hands to publish (``hand_over``,
``take_over``). A worker
then needs only the bucket's URL and credentials (the AWS environment variables), never a path of
the machine that started the run. A source whose ``url`` is a local path is read where its task runs.
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from partnerdata.collect.history import candidates
from partnerdata.collect.snapshots import snapshot_at
from partnerdata.run.plan import RunPaths
from partnerdata.run.summary import Collected, RefusedSnapshot, Validated
from partnerdata.storage import mirror
from partnerdata.storage.bucket import Bucket, is_url, parse_url
from partnerdata.validate.source import PreparedSource

RUNS = ".runs"  # under the raw location: each shared run's inputs and staged rows, removed when it ends
INPUTS_SOURCES = "sources.yaml"
INPUTS_SCHEMAS = "schemas"
Item = TypeVar("Item", bound=Collected | Validated)


def metadata_only(rel: str) -> bool:
    """Whether a file of raw/ is needed to know a source's snapshots and their verdicts: the checks log
    and each snapshot's meta.json, not its bodies."""
    parts = rel.split("/")
    return len(parts) == 2 or parts[-1] == mirror.COMPLETE_MARK


def write_once(rel: str) -> bool:
    """A snapshot's files are write-once; the source's checks log is appended to."""
    return len(rel.split("/")) > 2


_MIRRORS: dict[str, Path] = {}
_MIRRORS_LOCK = threading.Lock()
_FOLDER_LOCKS: dict[tuple[str, str], threading.Lock] = {}


def _mirror_dir(location: str) -> Path:
    """This process's mirror of a raw location (kept while the process lives: bodies are write-once)."""
    with _MIRRORS_LOCK:
        if location not in _MIRRORS:
            folder = Path(tempfile.mkdtemp(prefix="partnerdata-raw-"))
            atexit.register(shutil.rmtree, folder, True)
            _MIRRORS[location] = folder
        return _MIRRORS[location]


@contextmanager
def _folders_locked(location: str, folders: Sequence[str]) -> Iterator[None]:
    """The mirrored folders, one thread of this process at a time (in a sorted order: no deadlock)."""
    with ExitStack() as stack:
        for folder in sorted(set(folders)):
            with _MIRRORS_LOCK:
                lock = _FOLDER_LOCKS.setdefault((location, folder), threading.Lock())
            stack.enter_context(lock)
        yield


@contextmanager
def raw_mirrored(run: RunPaths, source_ids: Sequence[str], bodies: Sequence[str] | bool = False) -> Iterator[RunPaths]:
    """The run with raw/ local for the block: itself when raw/ is a folder; else this process's mirror of
    the sources' folders, pushed back when the block ends (also when it raises: the checks it logged are
    kept). ``bodies``: every body (True), none (False), or those of the snapshots named
    (``<source_id>/<name>``)."""
    if not is_url(run.raw_dir):
        yield run
        return
    bucket = Bucket(parse_url(run.raw_dir))
    local = _mirror_dir(run.raw_dir)
    folders = sorted(set(source_ids))
    with _folders_locked(run.raw_dir, folders):
        named = set(bodies) if not isinstance(bodies, bool) else set()
        if bodies is True:
            wanted = None
        else:

            def wanted(rel: str) -> bool:
                return metadata_only(rel) or rel.rsplit("/", 1)[0] in named

        mirrored = mirror.pull(bucket, local, folders, wanted)
        try:
            yield dataclasses.replace(run, raw_dir=str(local))
        finally:
            mirror.push(bucket, local, mirrored, write_once)


def reading_bodies(run: RunPaths, collected: Collected, basis: str) -> list[str]:
    """The snapshots validation may read (``collected``'s, then the older ones it may fall back to), by
    their place in raw/; ``run`` with raw/ mirrored, metadata only."""
    if collected.snapshot is None:
        return []
    start = snapshot_at(Path(run.raw_dir) / collected.snapshot)
    return [f"{collected.source_id}/{s.name}" for s in candidates(Path(run.raw_dir), collected.source_id, start, basis)]


def portable(item: Item, raw_dir: str) -> Item:
    """``item`` with its snapshots named by their place in raw/ (``<source_id>/<name>``)."""
    return _rebased(item, lambda path: Path(path).relative_to(raw_dir).as_posix())


def localised(item: Item, raw_dir: str) -> Item:
    """``item`` with its snapshots as folders of the (mirrored) raw/ at ``raw_dir``."""
    return _rebased(item, lambda place: str(Path(raw_dir) / place))


def _rebased(item: Item, move: Callable[[str], str]) -> Item:
    snapshot = move(item.snapshot) if item.snapshot else None
    if isinstance(item, Collected):
        return dataclasses.replace(item, snapshot=snapshot)
    verdict = dataclasses.replace(item.verdict, snapshot=move(item.verdict.snapshot)) if item.verdict else None
    return dataclasses.replace(item, snapshot=snapshot, verdict=verdict)


def shares_no_disk(run: RunPaths, here: bool) -> bool:
    """Whether the run's per-source steps get their inputs and hand over their staged rows through the
    bucket: raw/ is in one, and the steps are not run ``here`` (in this process) but on a Dask cluster."""
    return is_url(run.raw_dir) and not here


def run_location(run: RunPaths) -> str:
    """A new run's place under the raw location, for what its tasks share."""
    return f"{run.raw_dir.rstrip('/')}/{RUNS}/{uuid.uuid4().hex}"


def ship_inputs(run: RunPaths, location: str) -> RunPaths:
    """sources.yaml and the schemas uploaded under ``location``; the run reading them from there."""
    bucket = Bucket(parse_url(location))
    bucket.upload(INPUTS_SOURCES, Path(run.sources_file), create_only=True)
    folder = Path(run.schemas_dir)
    for schema in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        bucket.upload(f"{INPUTS_SCHEMAS}/{schema.relative_to(folder).as_posix()}", schema, create_only=True)
    return dataclasses.replace(
        run, sources_file=f"{location}/{INPUTS_SOURCES}", schemas_dir=f"{location}/{INPUTS_SCHEMAS}"
    )


_INPUTS: dict[str, Path] = {}


def local_inputs(run: RunPaths) -> RunPaths:
    """The run reading sources.yaml and the schemas from local files: itself, unless they were shipped
    through the bucket (then downloaded once per process: a run's inputs never change)."""
    if not is_url(run.sources_file):
        return run
    location = run.sources_file.rsplit("/", 1)[0]
    with _MIRRORS_LOCK:
        if location not in _INPUTS:
            folder = Path(tempfile.mkdtemp(prefix="partnerdata-inputs-"))
            atexit.register(shutil.rmtree, folder, True)
            bucket = Bucket(parse_url(location))
            for rel in [INPUTS_SOURCES, *bucket.listing(f"{INPUTS_SCHEMAS}/")]:  # not the staged rows beside them
                bucket.download(rel, folder / rel)
            _INPUTS[location] = folder
        folder = _INPUTS[location]
    return dataclasses.replace(run, sources_file=str(folder / INPUTS_SOURCES), schemas_dir=str(folder / INPUTS_SCHEMAS))


def hand_over(validated: Validated, work_dir: Path, location: str) -> Validated:
    """A validation's staged rows and findings uploaded under ``location``, and named by their key there
    (under a folder of this attempt's: a task Dask runs again after its worker died writes its own)."""
    bucket = Bucket(parse_url(location))
    attempt = uuid.uuid4().hex[:12]

    def up(path: str) -> str:
        name = f"{attempt}/{Path(path).relative_to(work_dir).as_posix()}"
        bucket.upload(name, Path(path), create_only=True)
        return name

    return _work_files(validated, up)


def take_over(validated: Sequence[Validated], location: str, work_dir: Path) -> list[Validated]:
    """What ``hand_over`` uploaded, downloaded into ``work_dir`` and named by its path there."""
    bucket = Bucket(parse_url(location))

    def down(name: str) -> str:
        bucket.download(name, work_dir / name)
        return str(work_dir / name)

    return [_work_files(v, down) for v in validated]


def _work_files(validated: Validated, move: Callable[[str], str]) -> Validated:
    prepared: PreparedSource | None = validated.prepared
    if prepared is not None:
        prepared = dataclasses.replace(
            prepared,
            staged={name: move(path) for name, path in prepared.staged.items()},
            findings=move(prepared.findings),
        )
    refused: RefusedSnapshot | None = validated.refused
    if refused is not None and refused.findings:
        refused = dataclasses.replace(refused, findings=move(refused.findings))
    return dataclasses.replace(validated, prepared=prepared, refused=refused)


def remove_leftover_runs(run: RunPaths) -> int:
    """What killed shared runs left under ``.runs/`` of the raw location; the run holds raw/'s lease, so
    no other run is using any of it. How many objects were deleted."""
    if not is_url(run.raw_dir):
        return 0
    bucket = Bucket(parse_url(f"{run.raw_dir.rstrip('/')}/{RUNS}"))
    leftovers = sorted(bucket.listing())
    bucket.delete(leftovers)
    return len(leftovers)


def remove_run(location: str) -> None:
    """Everything a shared run left under its place (its inputs, its staged rows)."""
    bucket = Bucket(parse_url(location))
    bucket.delete(sorted(bucket.listing()))
