"""Make a write survive a power cut before a rename makes it visible.

A rename is atomic, but without fsync the renamed folder may hold empty files after
a crash. Files are flushed before they are moved into place, and the folder that
holds the new name afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path


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
