"""Where the page's log exports are written: a private folder per export, old ones swept.

Each export gets its own folder with an unguessable name inside this process's 0700 temp
folder, so one visitor cannot fetch another's log by guessing a path."""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

EXPORT_KEEP_S = 3600  # an export folder older than this is removed at the next export
_export_root: Path | None = None  # made on the first export: mkdtemp, so private and unguessable
_export_lock = threading.Lock()


def export_folder() -> Path:
    """A fresh folder for one export, named by a secret inside this process's private (0700)
    temp folder; exports older than EXPORT_KEEP_S are removed first."""
    global _export_root
    with _export_lock:
        if _export_root is None:
            _export_root = Path(tempfile.mkdtemp(prefix="lcio-exports-"))
            atexit.register(shutil.rmtree, _export_root, True)
        now = time.time()
        for old in _export_root.iterdir():
            if now - old.stat().st_mtime > EXPORT_KEEP_S:
                shutil.rmtree(old, ignore_errors=True)
        folder = _export_root / secrets.token_urlsafe(24)
        folder.mkdir(mode=0o700)
        return folder
