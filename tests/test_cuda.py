"""The CUDA path: the real SmolLM2 in nf4 on a GPU, and the stand-in cloud serving from one.

`LCIO_LOCAL_DEVICE=auto` picks CUDA where a GPU is present (a workstation, a Space on GPU
hardware), through the same code as on CPU. These tests check that promise on a real GPU:
the weights are 4-bit on the device, answers are right, GPU time enters the energy meter, a
stop is obeyed, and the stand-in process serves from the GPU over real HTTP. Without a GPU
(CI, the project's CPU machines) they skip.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def smollm2_cuda() -> Any:
    from backends.local import shared_model

    return shared_model("", device="cuda")


def ask(text: str, max_new_tokens: int) -> Any:
    from backends.types import ChatRequest, Message

    return ChatRequest([Message("user", text)], max_new_tokens=max_new_tokens)


def test_nf4_weights_live_on_the_gpu_and_answer(smollm2_cuda: Any) -> None:
    import bitsandbytes as bnb

    from backends.config import Settings
    from backends.local import LocalBackend

    linear4 = [m for m in smollm2_cuda.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(linear4) >= 30 * 7
    assert all(m.weight.device.type == "cuda" for m in linear4)
    assert linear4[0].weight.quant_state.quant_type == "nf4"
    assert not torch.backends.cuda.cudnn_sdp_enabled()  # backends.models.avoid_cudnn_attention
    backend = LocalBackend(Settings(), model=smollm2_cuda.model, tokenizer=smollm2_cuda.tokenizer)
    assert backend.device.startswith("cuda")
    completion = backend.generate(ask("What is the capital of France?", 24))
    assert "paris" in completion.text.lower()
    assert completion.completion_tokens > 0 and completion.latency_s >= completion.ttft_s > 0


def test_gpu_seconds_are_priced(smollm2_cuda: Any) -> None:
    """With CPU power set to 0 W, any energy left can only come from the GPU seconds."""
    from backends.config import Settings
    from backends.local import LocalBackend

    settings = Settings(cpu_power_w=0.0, gpu_power_w=300.0)
    backend = LocalBackend(settings, model=smollm2_cuda.model, tokenizer=smollm2_cuda.tokenizer)
    completion = backend.generate(ask("Name three colours.", 16))
    assert completion.energy_j > 0
    assert completion.energy_j <= 300.0 * completion.latency_s * 1.05  # GPU busy ≤ the wall time


def test_stop_is_obeyed_and_the_model_is_released(smollm2_cuda: Any) -> None:
    from backends.config import Settings
    from backends.local import LocalBackend

    backend = LocalBackend(Settings(), model=smollm2_cuda.model, tokenizer=smollm2_cuda.tokenizer)
    request = ask("Write a long story about a lighthouse keeper.", 256)
    items = []
    for item in backend.stream(request):
        items.append(item)
        if len(items) == 3:
            request.stop.set()
    completion = items[-1]
    assert completion.finish_reason == "cancelled"
    assert completion.completion_tokens < 64  # stopped long before the 256-token cap
    again = backend.generate(ask("What is the capital of France?", 12))  # lock released
    assert "paris" in again.text.lower()


def test_nf4_is_smaller_than_bf16_on_the_gpu(smollm2_cuda: Any) -> None:
    from backends.models import load_model

    bf16, _ = load_model("", quantize=False, device="cuda", dtype=torch.bfloat16)
    try:
        assert next(bf16.parameters()).device.type == "cuda"
        ratio = smollm2_cuda.model.get_memory_footprint() / bf16.get_memory_footprint()
        assert ratio < 0.7, ratio
    finally:
        del bf16
        torch.cuda.empty_cache()


def test_standin_serves_from_the_gpu_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in child process, on LCIO_LOCAL_DEVICE=cuda, answers through the openai client."""
    import httpx
    import openai

    from backends.config import Settings
    from backends.standin import StandinServer

    monkeypatch.setenv("LCIO_LOCAL_DEVICE", "cuda")
    with StandinServer(Settings(), mode="subprocess", delay_s=0.0) as server:
        health = httpx.get(f"{server.root_url}/health", timeout=10).json()
        assert health["device"].startswith("cuda"), health
        client = openai.OpenAI(api_key="standin", base_url=server.base_url, max_retries=0)
        reply = client.chat.completions.create(
            model=client.models.list().data[0].id,
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            max_tokens=24, temperature=0.0,
        )
        assert "paris" in (reply.choices[0].message.content or "").lower()
        assert reply.usage is not None and reply.usage.completion_tokens > 0
