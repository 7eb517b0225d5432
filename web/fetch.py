"""Fetch the catalogue's front-end packages (web/packages.json) from the npm registry.

A small stand-in for `npm ci` that needs only Python: each package's tarball is downloaded,
checked against the integrity hash the registry published for it, and only the files listed
are unpacked, under web/node_modules/<name>/. A package already there at its version is left
alone. Run by `make setup`; exits non-zero with the reason on stderr when a download fails or
a tarball does not match its hash (nothing of that package is kept then).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "packages.json"
TARGET = HERE / "node_modules"
MOST_BYTES = 200_000_000  # a tarball larger than this is refused
TIMEOUT = 120


def main() -> int:
    packages = json.loads(MANIFEST.read_text(encoding="utf-8"))["packages"]
    for package in packages:
        folder = TARGET / package["name"]
        stamp = folder / ".fetched"
        if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == package["integrity"]:
            continue
        print(f"fetching {package['name']}@{package['version']} from the npm registry", file=sys.stderr)
        try:
            data = _download(package["tarball"])
        except OSError as error:
            print(f"web/fetch.py: cannot download {package['tarball']}: {error}", file=sys.stderr)
            return 1
        algorithm, _, expected = package["integrity"].partition("-")
        actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
        if actual != expected:
            print(
                f"web/fetch.py: {package['tarball']} does not match its integrity hash in web/packages.json "
                f"({algorithm} {actual}); nothing of {package['name']} was kept",
                file=sys.stderr,
            )
            return 1
        shutil.rmtree(folder, ignore_errors=True)
        _unpack(data, package["files"], folder)
        stamp.write_text(package["integrity"] + "\n", encoding="utf-8")
    return 0


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (an https URL of the manifest)
        data = response.read(MOST_BYTES + 1)
    if len(data) > MOST_BYTES:
        raise OSError(f"larger than {MOST_BYTES:,} bytes")
    return data


def _unpack(data: bytes, wanted: list[str], folder: Path) -> None:
    """The listed files of an npm tarball (each under package/), and nothing else."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {member.name.removeprefix("package/"): member for member in archive.getmembers() if member.isfile()}
        missing = [name for name in wanted if name not in members]
        if missing:
            raise SystemExit(f"web/fetch.py: the tarball has no {', '.join(missing)}; fix web/packages.json")
        for name in wanted:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(members[name])
            assert source is not None  # a regular file
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)


if __name__ == "__main__":
    sys.exit(main())
