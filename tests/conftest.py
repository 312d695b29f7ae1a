"""Shared fixtures: a tiny random nf4 model (≈1 s) for fast tests, and the real SmolLM2.

- `tiny_model_dir` (session): the tiny random checkpoint's folder, for tests of loading.
- `tiny_model` (session): `(model, tokenizer)` — a 2-layer Llama with hidden size 64 and an
  offline WordLevel tokenizer with a chat template, saved to a temp dir and loaded back
  with the project's own nf4 recipe. Its special tokens are suppressed, so greedy output
  always runs to `max_new_tokens` and streams visible words.
- `tiny_backend` (function): a `LocalBackend` on `tiny_model` with a small context window.
- `smollm2` (session): the real embedded SmolLM2-135M-Instruct in nf4, via
  `backends.local.shared_model` (converted and quantized once into the cache dir; later
  runs reload the saved nf4 copy in about a second).
- `slow` marker: real models; selected by default, skip them with `-m "not slow"`.
- At the end of the run, any process the tests started that is still alive fails the run
  (tests/leak_check.py).
"""

from __future__ import annotations

import os

for _name, _value in {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}.items():
    os.environ.setdefault(_name, _value)

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from tests import leak_check  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    leak_check.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leak_check.finish(session)

TINY_WORDS = (
    "the a is of and to in it you that was for on are with as i his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use your "
    "how said an each she which do their time if will way about many then them write would "
    "like so these her long make thing see him two has look more day could go come did number "
    "sound no most people my over know water than call first who may down side been now find "
    "paris france capital cat dog"
).split()
TINY_SPECIALS = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
TINY_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def make_tiny_tokenizer() -> Any:
    """An offline WordLevel tokenizer over a few words, with a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*TINY_SPECIALS, *TINY_WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=TINY_SPECIALS[4:],
    )
    tokenizer.chat_template = TINY_TEMPLATE
    return tokenizer


def tiny_config(tokenizer: Any) -> Any:
    """A 2-layer Llama, hidden size 64, sized to the tiny tokenizer."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama checkpoint (bf16 weights + tokenizer) in a temp folder."""
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = make_tiny_tokenizer()
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model = LlamaForCausalLM(tiny_config(tokenizer))
    specials = [tokenizer.convert_tokens_to_ids(t) for t in TINY_SPECIALS]
    model.generation_config.suppress_tokens = specials
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """The tiny checkpoint loaded through the project's real nf4 path (its cache in tmp)."""
    from backends.models import load_model

    cache = tmp_path_factory.mktemp("tiny-cache")
    return load_model(str(tiny_model_dir), quantize=True, device="cpu", cache_dir=cache)


@pytest.fixture
def tiny_backend(tiny_model: tuple[Any, Any]) -> Iterator[Any]:
    """A LocalBackend on the tiny model: 128-token window, perception must not be needed."""
    from backends.config import Settings
    from backends.local import LocalBackend

    model, tokenizer = tiny_model

    def no_perception(attachment: Any) -> str:
        raise AssertionError("this test sends no attachments")

    yield LocalBackend(
        Settings(local_context_tokens=128, max_new_tokens=8),
        model=model,
        tokenizer=tokenizer,
        perceive=no_perception,
    )


@pytest.fixture(scope="session")
def smollm2() -> Any:
    """The real embedded SmolLM2-135M-Instruct in nf4 (shared with every test that asks)."""
    from backends.local import shared_model

    return shared_model("", device="cpu")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for generated test images and audio, made once per session."""
    return tmp_path_factory.mktemp("media")
