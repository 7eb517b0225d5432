"""Files: writes that survive a power cut before a rename makes them visible, and their digests.

A rename is atomic, but without fsync the renamed folder may hold empty files after
a crash. Files are flushed before they are moved into place, and the folder that
holds the new name afterwards. ``write_text_atomically`` is the one write-then-rename
for a single file; a reader sees the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any


def fsync_folder(folder: Path) -> None:
    """fsync every file directly in folder, then the folder itself."""
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink():
            fsync_path(path)
    fsync_path(folder)


def fsync_path(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_json_atomically(path: Path, document: Any) -> None:
    write_text_atomically(path, json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_text_atomically(path: Path, text: str) -> None:
    """Beside the target, flushed, then renamed over it: a reader sees the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temporary.write_text(text, encoding="utf-8")
    fsync_path(temporary)
    os.replace(temporary, path)
    fsync_path(path.parent)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
