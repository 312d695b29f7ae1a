"""The local backend: fast tests on a tiny random nf4 model, one on the real SmolLM2."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from backends.base import BACKENDS
from backends.config import Settings
from backends.errors import BackendError, PromptTooLong
from backends.local import InvalidRequest, LocalBackend
from backends.models import ModelUnavailable, load_model, resolve_model
from backends.types import Attachment, ChatRequest, Completion, Message
from tests.media import sample_image


def ask(text: str, max_new_tokens: int = 8, **kwargs: Any) -> ChatRequest:
    return ChatRequest([Message("user", text)], max_new_tokens=max_new_tokens, **kwargs)


def run(backend: LocalBackend, request: ChatRequest) -> tuple[list[str], Completion]:
    items = list(backend.stream(request))
    deltas = [item for item in items[:-1]]
    assert all(isinstance(d, str) for d in deltas)
    assert isinstance(items[-1], Completion)
    return deltas, items[-1]


def test_registered_by_name() -> None:
    assert BACKENDS["local"] is LocalBackend
    assert LocalBackend.name == "local"


def test_streams_deltas_then_one_completion(tiny_backend: LocalBackend) -> None:
    deltas, completion = run(tiny_backend, ask("what is the capital of france", 6))
    assert len(deltas) >= 2
    assert completion.text == "".join(deltas)
    assert completion.completion_tokens == 6
    assert completion.finish_reason == "length"
    assert completion.backend == "local"


def test_completion_accounting(tiny_backend: LocalBackend) -> None:
    _, completion = run(tiny_backend, ask("the cat is hot", 5))
    assert completion.prompt_tokens == tiny_backend.count_tokens(
        [{"role": "user", "content": "the cat is hot"}]
    )
    assert completion.completion_tokens > 0
    assert 0 < completion.ttft_s <= completion.latency_s
    assert completion.energy_j > 0
    settings = tiny_backend.settings
    expected_cost = completion.energy_j / 3.6e6 * settings.electricity_usd_per_kwh
    assert completion.cost_usd == pytest.approx(expected_cost)
    assert completion.perception_s >= 0
    assert completion.attachments_used == ()


def test_generate_returns_the_completion(tiny_backend: LocalBackend) -> None:
    completion = tiny_backend.generate(ask("the dog", 3))
    assert completion.completion_tokens == 3 and completion.text


def test_greedy_is_deterministic(tiny_backend: LocalBackend) -> None:
    first = tiny_backend.generate(ask("water is hot", 6)).text
    assert tiny_backend.generate(ask("water is hot", 6)).text == first


def test_energy_scales_with_configured_power(tiny_model: tuple[Any, Any]) -> None:
    model, tokenizer = tiny_model
    free = LocalBackend(Settings(cpu_power_w=0.0), model=model, tokenizer=tokenizer)
    assert free.generate(ask("the cat", 3)).energy_j == 0.0


def history(turns: int) -> list[Message]:
    messages = [Message("system", "you are a cat")]
    for i in range(turns):
        messages.append(Message("user", "what is the word " * 3 + str(i)))
        messages.append(Message("assistant", "the word is water " * 3))
    return messages


def test_history_trimmed_oldest_first_keeping_system(tiny_backend: LocalBackend) -> None:
    messages = [*history(12), Message("user", "and now")]
    chat = [{"role": m.role, "content": m.text} for m in messages]
    assert tiny_backend.count_tokens(chat) > tiny_backend.context_window()

    kept, ids, max_new, dropped = tiny_backend.fit_to_window(chat, 8)
    assert dropped > 0 and dropped % 2 == 0  # whole turns: a question and its answer
    assert kept[0] == chat[0]  # system message kept
    assert kept[-1] == chat[-1]  # the new turn kept
    assert kept[1:] == chat[1 + dropped :]  # the newest turns, in order
    assert kept[1]["role"] == "user"
    assert len(ids) + max_new <= tiny_backend.context_window()
    assert max_new == 8

    _, completion = run(tiny_backend, ChatRequest(messages, max_new_tokens=8))
    assert completion.prompt_tokens == len(ids)
    assert completion.prompt_tokens + completion.completion_tokens <= tiny_backend.context_window()


def test_short_history_not_trimmed(tiny_backend: LocalBackend) -> None:
    messages = [*history(1), Message("user", "and now")]
    chat = [{"role": m.role, "content": m.text} for m in messages]
    kept, _, _, dropped = tiny_backend.fit_to_window(chat, 8)
    assert dropped == 0 and kept == chat


def test_turn_too_long_alone_raises(tiny_backend: LocalBackend) -> None:
    request = ask("water " * 200)
    with pytest.raises(PromptTooLong, match="tokens"):
        list(tiny_backend.stream(request))
    assert isinstance(PromptTooLong("x"), BackendError)


def test_answer_shortened_to_fit_window(tiny_backend: LocalBackend) -> None:
    text = "water " * 100
    completion = tiny_backend.generate(ask(text, max_new_tokens=500))
    assert completion.prompt_tokens + completion.completion_tokens <= 128
    assert completion.finish_reason == "length"


def test_stop_event_cancels(tiny_backend: LocalBackend) -> None:
    request = ask("the cat", max_new_tokens=100)
    items: list[Any] = []
    for item in tiny_backend.stream(request):
        items.append(item)
        if len(items) == 2:
            request.stop.set()
    completion = items[-1]
    assert isinstance(completion, Completion)
    assert completion.finish_reason == "cancelled"
    assert completion.completion_tokens < 100


def test_stop_before_start_generates_almost_nothing(tiny_backend: LocalBackend) -> None:
    request = ask("the cat", max_new_tokens=100)
    request.stop.set()
    completion = tiny_backend.generate(request)
    assert completion.finish_reason == "cancelled"
    assert completion.completion_tokens <= 1
    assert completion.ttft_s <= completion.latency_s


def test_abandoned_stream_releases_the_model(tiny_backend: LocalBackend) -> None:
    stream = tiny_backend.stream(ask("the cat", max_new_tokens=100))
    next(stream)
    stream.close()  # the caller walked away: generation must end and the lock be free
    lock = tiny_backend.load().lock
    assert lock.acquire(timeout=10)
    lock.release()


def test_shared_model_serialises_sessions(tiny_model: tuple[Any, Any]) -> None:
    model, tokenizer = tiny_model
    a = LocalBackend(Settings(), model=model, tokenizer=tokenizer)
    b = LocalBackend(Settings(), model=model, tokenizer=tokenizer)
    assert a.load().lock is b.load().lock
    expected = a.generate(ask("hot water", 12)).text
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(backend: LocalBackend) -> None:
        try:
            results.append(backend.generate(ask("hot water", 12)).text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(x,)) for x in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert results == [expected] * 4  # no interleaving corrupted any stream


def test_request_must_end_with_the_person(tiny_backend: LocalBackend) -> None:
    with pytest.raises(InvalidRequest):
        list(tiny_backend.stream(ChatRequest([])))
    with pytest.raises(InvalidRequest):
        list(tiny_backend.stream(ChatRequest([Message("assistant", "hi")])))


def test_attachments_are_perceived_into_the_prompt(
    tiny_model: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tokenizer = tiny_model
    seen: list[str] = []

    def perceive(attachment: Attachment) -> str:
        seen.append(attachment.sha256)
        return "[Image: labels: cat (90%)]"

    image = Attachment.from_path(sample_image("chelsea", tmp_path))
    backend = LocalBackend(
        Settings(local_context_tokens=128), model=model, tokenizer=tokenizer, perceive=perceive
    )
    request = ChatRequest([Message("user", "what is this", (image,))], max_new_tokens=3)
    completion = backend.generate(request)
    assert seen == [image.sha256]
    assert completion.attachments_used == (image.sha256,)
    plain = backend.count_tokens([{"role": "user", "content": "what is this"}])
    assert completion.prompt_tokens > plain  # the description reached the model
    assert 0 < completion.perception_s <= completion.latency_s


def test_trimmed_attachments_are_not_reported(tiny_model: tuple[Any, Any], tmp_path: Path) -> None:
    model, tokenizer = tiny_model
    image = Attachment.from_path(sample_image("coffee", tmp_path))
    backend = LocalBackend(
        Settings(local_context_tokens=128),
        model=model,
        tokenizer=tokenizer,
        perceive=lambda a: "[Image: cup]",
    )
    old = [Message("user", "look " * 70, (image,)), Message("assistant", "water " * 70)]
    completion = backend.generate(ChatRequest([*old, Message("user", "and now")], max_new_tokens=4))
    assert completion.attachments_used == ()


def test_model_references_resolve_or_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="could not be found"):
        resolve_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelUnavailable, match="config.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(ModelUnavailable):
        load_model("no-such-org/no-such-model-offline")


@pytest.mark.slow
def test_real_smollm2_is_4bit_and_knows_paris(smollm2: Any) -> None:
    import bitsandbytes as bnb

    linear4 = [m for m in smollm2.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(linear4) >= 30 * 7  # every attention and MLP projection of 30 layers
    assert linear4[0].weight.quant_state.quant_type == "nf4"
    backend = LocalBackend(Settings(), model=smollm2.model, tokenizer=smollm2.tokenizer)
    completion = backend.generate(ask("What is the capital of France?", 24))
    assert "paris" in completion.text.lower()
    assert completion.finish_reason in ("stop", "length")
    assert completion.prompt_tokens > 5 and completion.completion_tokens > 0
    assert completion.energy_j > 0 and completion.latency_s >= completion.ttft_s > 0


def test_gguf_conversion_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A conversion that fails half-way leaves no cache entry; a later one completes it."""
    import transformers

    from backends import models
    from tests.conftest import make_tiny_tokenizer, tiny_config

    gguf = tmp_path / "weights.gguf"
    gguf.write_bytes(b"stands in for a GGUF: only its size and date key the cache")
    small_model = transformers.LlamaForCausalLM(tiny_config(make_tiny_tokenizer()))
    monkeypatch.setattr(
        transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: small_model
    )

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("interrupted after the weights were written")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", interrupted)
    with pytest.raises(ModelUnavailable, match="weights.gguf"):
        models.convert_gguf(gguf, tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no half-written model

    monkeypatch.setattr(
        transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: make_tiny_tokenizer()
    )
    target = models.convert_gguf(gguf, tmp_path / "cache")
    assert (target / "config.json").is_file() and (target / "tokenizer.json").is_file()
    assert list((tmp_path / "cache" / "models").iterdir()) == [target]
    assert models.convert_gguf(gguf, tmp_path / "cache") == target  # converted once


@pytest.mark.slow
def test_completion_names_the_embedded_model(smollm2: Any) -> None:
    backend = LocalBackend(Settings(), model=smollm2.model, tokenizer=smollm2.tokenizer)
    assert backend.model_name == "SmolLM2-135M-Instruct"
    assert smollm2.name == "SmolLM2-135M-Instruct"


def test_nf4_copy_is_saved_and_reloaded(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The second load reads the saved nf4 copy (no re-quantizing) and answers the same."""
    import bitsandbytes as bnb

    first, tokenizer = load_model(str(tiny_model_dir), device="cpu", cache_dir=tmp_path)
    saved = list((tmp_path / "models").glob("*-nf4-cpu-*"))
    assert len(saved) == 1 and (saved[0] / "config.json").is_file()
    second, _ = load_model(str(tiny_model_dir), device="cpu", cache_dir=tmp_path)
    assert second.config._name_or_path == str(saved[0])  # loaded from the copy
    assert isinstance(second.model.layers[0].mlp.up_proj, bnb.nn.Linear4bit)
    a = LocalBackend(Settings(), model=first, tokenizer=tokenizer).generate(ask("hot water", 6))
    b = LocalBackend(Settings(), model=second, tokenizer=tokenizer).generate(ask("hot water", 6))
    assert a.text == b.text


def test_full_precision_load_for_the_standin(tiny_model_dir: Path, tmp_path: Path) -> None:
    import bitsandbytes as bnb
    import torch

    model, _ = load_model(str(tiny_model_dir), quantize=False, device="cpu", cache_dir=tmp_path)
    assert not any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    assert model.dtype == torch.bfloat16 and not model.training
    assert not (tmp_path / "models").exists()  # nothing cached for full precision


def test_failure_in_generation_is_a_backend_error(
    tiny_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_backend.load().model

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("out of memory at /secret/path")

    monkeypatch.setattr(model, "generate", broken)
    with pytest.raises(BackendError, match="RuntimeError") as info:
        list(tiny_backend.stream(ask("the cat")))
    assert "/secret/path" not in info.value.message
    assert tiny_backend.load().lock.acquire(timeout=5)  # the model is free again
    tiny_backend.load().lock.release()
