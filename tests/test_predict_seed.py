"""Seeding the turn predictor at start-up (app/predict_seed.py) from a path with a known speed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.predict import CostPredictor, TurnShape
from app.predict_seed import (
    BENCH,
    LONG_PROMPT,
    bench_answer_tokens,
    measure_path,
    seed_predictor,
    timing_from,
)
from backends.base import Backend
from backends.config import Settings
from backends.types import ChatRequest, Completion

# A path's truth: first token after A + B per prompt token, then C seconds per token.
A, B, C = 0.9, 0.002, 0.07
WORDS_PER_TOKEN = 0.75


def truth(prompt_tokens: int, answer_tokens: int) -> Completion:
    ttft = A + B * prompt_tokens
    return Completion("", "cloud", "m", ttft_s=ttft, latency_s=ttft + C * (answer_tokens - 1),
                      prompt_tokens=prompt_tokens, completion_tokens=answer_tokens)


class KnownPath(Backend):
    """A backend answering at the truth's speed; its first request pays a cold start."""

    def __init__(self, cold_s: float = 8.0) -> None:
        self.cold_s = cold_s
        self.requests: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> Iterator[str | Completion]:
        self.requests.append(request)
        words = sum(len(m.text.split()) for m in request.messages)
        done = truth(int(words / WORDS_PER_TOKEN) + 20, request.max_new_tokens)
        if len(self.requests) == 1:
            done.ttft_s += self.cold_s
            done.latency_s += self.cold_s
        yield "x"
        yield done


class Broken(Backend):
    def stream(self, request: ChatRequest) -> Iterator[str | Completion]:
        raise ConnectionError("down")
        yield ""  # pragma: no cover


def price(prompt: int, new: int, audio: int, image: int) -> float:
    return (prompt + 4 * new) * 1e-6


def test_timing_reads_speed_and_prompt_reading_from_two_answers() -> None:
    t = timing_from(truth(40, 24), truth(540, 2))
    assert t.ttft_s == pytest.approx(A + B * 40)
    assert t.s_per_token == pytest.approx(C)
    assert t.s_per_prompt_token == pytest.approx(B)


def test_measured_path_predicts_a_first_turn_the_priors_miss() -> None:
    backend = KnownPath()
    timing = measure_path(backend)
    assert len(backend.requests) == 3  # the cold one is not the one measured
    assert timing.ttft_s == pytest.approx(A + B * timing.prompt_tokens)
    assert backend.requests[2].messages[0].text == LONG_PROMPT

    turn = TurnShape("cloud", text_bytes=800, max_new_tokens=30)
    fresh, seeded = CostPredictor(Settings(), price), CostPredictor(Settings(), price)
    seeded.seed("cloud", ttft_s=timing.ttft_s, prompt_tokens=timing.prompt_tokens,
                s_per_prompt_token=timing.s_per_prompt_token, s_per_token=timing.s_per_token)
    prompt = seeded.predict(turn).prompt_tokens  # the token fit is not what is seeded
    actual = truth(round(prompt), 30).latency_s
    assert seeded.predict(turn).cost.latency_s == pytest.approx(actual, rel=0.02)
    assert abs(fresh.predict(turn).cost.latency_s - actual) > 0.2 * actual
    assert seeded.predict(TurnShape("local", text_bytes=800, max_new_tokens=30)).cost.latency_s \
        == fresh.predict(TurnShape("local", text_bytes=800, max_new_tokens=30)).cost.latency_s


def test_answer_length_prior_counts_as_a_few_answers_then_fades() -> None:
    predictor = CostPredictor(Settings(), price)
    predictor.seed("cloud", answer_tokens=14)
    shape = TurnShape("cloud", text_bytes=100, max_new_tokens=256)
    assert predictor.predict(shape).completion_tokens == 14
    assert predictor.predict(TurnShape("cloud", text_bytes=100, max_new_tokens=8)).completion_tokens == 8
    for _ in range(5):  # this app's answers run longer than the bench's
        predictor.observe(shape, truth(100, 120))
    assert predictor.predict(shape).completion_tokens == 120


def test_measured_speed_counts_until_the_path_has_its_own() -> None:
    predictor = CostPredictor(Settings(), price)
    predictor.seed("cloud", s_per_token=0.5)
    shape = TurnShape("cloud", text_bytes=100, max_new_tokens=101)
    slow = predictor.predict(shape).cost.latency_s
    for _ in range(20):
        predictor.observe(shape, truth(100, 101))
    fast = predictor.predict(shape).cost.latency_s
    assert slow > 0.5 * 100 and fast < C * 100 + 3


def test_bench_answer_length_only_for_the_bench_model(tmp_path: Path) -> None:
    bench = tmp_path / "bench.jsonl"
    rows = [{"type": "header", "models": {"local": {"model": "Small"},
                                          "cloud": {"model": "alias", "served_model": "Big"}}}]
    rows += [{"type": "outcome", "location": "cloud", "finish_reason": "stop", "completion_tokens": n}
             for n in (10, 12, 40)]
    rows += [{"type": "outcome", "location": "cloud", "finish_reason": "error", "completion_tokens": 0}]
    bench.write_text("\n".join(json.dumps(r) for r in rows))
    assert bench_answer_tokens("Big", "cloud", bench) == 12
    assert bench_answer_tokens("alias", "cloud", bench) == 12
    assert bench_answer_tokens("Other", "cloud", bench) is None
    assert bench_answer_tokens("Small", "local", bench) is None  # no local answers recorded
    assert bench_answer_tokens("", "cloud", bench) is None
    assert bench_answer_tokens("Big", "cloud", tmp_path / "missing.jsonl") is None
    shipped = json.loads(BENCH.read_text(encoding="utf-8").splitlines()[0])["models"]["local"]["model"]
    assert 1 <= bench_answer_tokens(shipped, "local") <= 256


def test_seed_predictor_times_each_path_and_keeps_priors_for_a_broken_one(tmp_path: Path) -> None:
    predictor = CostPredictor(Settings(), price)
    fresh = CostPredictor(Settings(), price)
    out = seed_predictor(predictor, {"cloud": KnownPath(), "local": Broken()}, Settings(),
                         probe=True, bench=tmp_path / "none.jsonl")
    assert out["cloud"]["s_per_token"] == pytest.approx(C) and "ttft_s" not in out["local"]
    local = TurnShape("local", text_bytes=300)
    assert predictor.predict(local).cost == fresh.predict(local).cost
    unprobed = KnownPath()
    seed_predictor(CostPredictor(Settings(), price), {"cloud": unprobed}, Settings(), probe=False,
                   bench=tmp_path / "none.jsonl")
    assert unprobed.requests == []
    served, busy = CostPredictor(Settings(), price), KnownPath()
    served.observe(TurnShape("cloud", text_bytes=100), truth(100, 20))
    seed_predictor(served, {"cloud": busy}, Settings(), probe=True, bench=tmp_path / "none.jsonl")
    assert busy.requests == []  # its own turn taught it already


def test_a_billed_cloud_is_probed_only_when_asked(monkeypatch) -> None:
    from app.predict_seed import probed

    standin, billed = Settings(), Settings(openai_base_url="https://api.example.com/v1")
    assert standin.uses_standin and not billed.uses_standin
    monkeypatch.delenv("LCIO_START_PROBE", raising=False)
    assert probed("local", billed) and probed("cloud", standin) and not probed("cloud", billed)
    monkeypatch.setenv("LCIO_START_PROBE", "1")
    assert probed("cloud", billed)
    monkeypatch.setenv("LCIO_START_PROBE", "0")
    assert not probed("local", standin) and not probed("cloud", standin)
