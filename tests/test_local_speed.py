"""Streaming answers exactly what a bare `model.generate` answers, with the same arguments.

The speed benchmark (`lab.speed_local`) compares their tokens per second; these tests make
sure that comparison is of the same work: same prompt ids, same decoding, same text.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from backends.config import Settings
from backends.local import LocalBackend
from backends.types import ChatRequest, Message
from lab.speed_local import _bare, bare_text, bench_streaming


def _same_answer(backend: LocalBackend, text: str, tokens: int) -> tuple[str, str, int, int]:
    """(streamed text, bare generate's text, streamed tokens, bare tokens) for one prompt."""
    request = ChatRequest([Message("user", text)], max_new_tokens=tokens)
    _, ids, max_new, _ = backend.fit_to_window([{"role": "user", "content": text}], tokens)
    kwargs = backend.generate_kwargs(request, torch.tensor([ids]), max_new)
    new, _, output = _bare(backend, kwargs, on_thread=False)
    *_, done = backend.stream(request)
    return done.text, bare_text(backend, output, len(ids)), done.completion_tokens, new


def test_stream_equals_bare_generate_on_the_tiny_model(tiny_backend: LocalBackend) -> None:
    streamed, bare, streamed_n, bare_n = _same_answer(tiny_backend, "the cat is hot", 8)
    assert streamed and streamed == bare
    assert streamed_n == bare_n == 8


def test_benchmark_reports_all_three_and_their_ratio(tiny_backend: LocalBackend) -> None:
    result = bench_streaming(tiny_backend, tokens=6, repeats=2)
    rates = result["tokens_per_s"]
    assert set(rates) == {"bare_main", "bare_thread", "stream"}
    assert all(rate > 0 for rate in rates.values())
    assert result["new_tokens"] == {"bare_main": 6, "bare_thread": 6, "stream": 6}
    assert result["same_text"] is True
    assert result["ratios"]["stream_over_bare_main"] == pytest.approx(
        rates["stream"] / rates["bare_main"])
    assert 0.0 <= result["gemv_4bit_cpu_share"] <= 1.0


@pytest.mark.slow
def test_stream_equals_bare_generate_on_smollm2(smollm2: Any) -> None:
    """The real model with its family's settings (n-gram blocker, stop strings), greedy."""
    backend = LocalBackend(Settings(), model=smollm2.model, tokenizer=smollm2.tokenizer)
    assert backend.decoding.family == "smollm2"
    streamed, bare, streamed_n, bare_n = _same_answer(
        backend, "Explain in a few sentences why the sky is blue.", 48)
    assert len(streamed) > 20
    assert streamed == bare
    assert streamed_n == bare_n
