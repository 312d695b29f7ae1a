"""The LCIO-Bench builder: every action present, scores in range, resume == uninterrupted.

Fast tests drive the builder with small deterministic fake backends defined here (their
timings are real clock readings, so the `measured` parts differ between runs while the
content must not). The slow test runs the same checks on the real backends: the local nf4
SmolLM2 and the stand-in cloud over HTTP, on a two-dialogue sample.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.base import Backend
from backends.types import ChatRequest, Completion
from lab.bench import build as bench_build
from lab.bench.build import (
    ACTION_SPACE,
    Backends,
    build,
    content_view,
    outcome_key,
    valid_actions,
)
from lab.bench.scenarios import generate
from policies.bench.dataset import is_bench_file, load_bench


def bag_embed(texts: list[str]) -> list[list[float]]:
    """Cheap deterministic embedding (letter counts) so fast tests need no model."""
    return [[t.lower().count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
            for t in texts]


class FakeBackend(Backend):
    """Answers deterministically from the request; reports real elapsed time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def stream(self, request: ChatRequest) -> Iterator[str | Completion]:
        started = time.perf_counter()
        self.calls += 1
        last = request.messages[-1]
        names = ",".join(a.path.name[:12] for a in last.attachments)
        text = f"{self.name} answer to '{last.text[:30]}' using [{names}] 12"
        yield text
        elapsed = time.perf_counter() - started
        yield Completion(text=text, backend=self.name, model=f"fake-{self.name}",
                         ttft_s=elapsed, latency_s=elapsed + 1e-6,
                         prompt_tokens=sum(len(m.text.split()) for m in request.messages),
                         completion_tokens=len(text.split()), cost_usd=elapsed * 1e-3,
                         energy_j=elapsed, attachments_used=tuple(a.sha256 for a in
                                                                  last.attachments))


class Interrupt(BaseException):
    """Stands for Ctrl-C / a killed process in the middle of the build."""


class InterruptAfter(Backend):
    """Wraps a backend and interrupts the build on its (k+1)-th call."""

    def __init__(self, inner: Backend, budget: dict[str, int]) -> None:
        self.inner, self.budget, self.name = inner, budget, inner.name

    def stream(self, request: ChatRequest) -> Iterator[str | Completion]:
        if self.budget["left"] <= 0:
            raise Interrupt()
        self.budget["left"] -= 1
        yield from self.inner.stream(request)


def fake_backends() -> Backends:
    return Backends(FakeBackend("local"), FakeBackend("cloud"),
                    {"local": {"model": "fake-local"}, "cloud": {"model": "fake-cloud"}})


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def expected_keys(limit: int, seed: int = 0) -> set[str]:
    return {outcome_key(d.id, i, a) for d in generate(seed)[:limit]
            for i, t in enumerate(d.turns) for a in valid_actions(len(t.attachments))}


def pick_limit(min_attachment_turns: int = 2) -> int:
    """Smallest prefix of the seed-0 dialogues with a multi-attachment turn (more actions)."""
    for n, d in enumerate(generate(0), start=1):
        if any(len(t.attachments) >= min_attachment_turns for t in d.turns):
            return n
    raise AssertionError


def test_valid_actions_follow_the_attachments() -> None:
    assert len(valid_actions(0)) == 2  # local, cloud with nothing
    assert len(valid_actions(1)) == 4
    assert len(valid_actions(3)) == ACTION_SPACE.n == 16


def test_every_action_present_and_scores_in_range(tmp_path: Path) -> None:
    out = tmp_path / "bench.jsonl"
    report = build(out, limit=2, backends=fake_backends(), embed=bag_embed, progress=False,
                   media_dir=tmp_path / "media", measure_perception=False)
    rows = rows_of(out)
    assert rows[0]["type"] == "header" and rows[0]["format"] == "lcio-bench"
    outcomes = [r for r in rows if r["type"] == "outcome"]
    assert {r["key"] for r in outcomes} == expected_keys(2)
    assert len(outcomes) == len(expected_keys(2)) == report.rows_written
    assert all(0.0 <= r["score"] <= 1.0 for r in outcomes)
    assert {r["location"] for r in outcomes} == {"local", "cloud"}
    turns = [r for r in rows if r["type"] == "turn"]
    assert len(turns) == sum(len(d.turns) for d in generate(0)[:2])
    for r in turns:
        for a in r["attachments"]:
            assert (tmp_path / "media" / a["file"]).is_file() and len(a["sha256"]) == 64
    # Each row was answered with exactly the attachments of its action.
    by_turn = {r["key"]: r for r in turns}
    for r in outcomes:
        turn = by_turn[f"{r['dialogue']}/{r['turn']}"]
        assert r["attachments_used"] == [turn["attachments"][s]["sha256"] for s in r["slots"]]
    # A second run finds everything there and writes nothing.
    again = build(out, limit=2, backends=fake_backends(), embed=bag_embed, progress=False,
                  media_dir=tmp_path / "media", measure_perception=False)
    assert again.rows_written == 0 and rows_of(out) == rows


def test_interrupted_build_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    limit = pick_limit()
    kwargs = dict(limit=limit, embed=bag_embed, progress=False, media_dir=tmp_path / "media",
                  measure_perception=False)
    whole = tmp_path / "whole.jsonl"
    build(whole, backends=fake_backends(), **kwargs)

    broken = tmp_path / "broken.jsonl"
    budget = {"left": 5}
    inner = fake_backends()
    flaky = Backends(InterruptAfter(inner.local, budget), InterruptAfter(inner.cloud, budget),
                     inner.models)
    with pytest.raises(Interrupt):
        build(broken, backends=flaky, **kwargs)
    assert len([r for r in rows_of(broken) if r["type"] == "outcome"]) == 5
    with broken.open("ab") as handle:  # a torn half-written row, as a kill mid-write leaves
        handle.write(b'{"type": "outcome", "key": "d00')
    resumed = build(broken, backends=fake_backends(), **kwargs)
    assert resumed.rows_skipped == 5

    a, b = rows_of(whole), rows_of(broken)
    assert [content_view(r) for r in a] == [content_view(r) for r in b]
    # The measured parts are really measured (they differ run to run); content does not.
    assert [r.get("measured") for r in a] != [r.get("measured") for r in b]


def test_resume_refuses_a_file_built_with_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "bench.jsonl"
    build(out, limit=1, backends=fake_backends(), embed=bag_embed, progress=False,
          media_dir=tmp_path / "media", measure_perception=False)
    with pytest.raises(SystemExit, match="max_new_tokens"):
        build(out, limit=1, max_new_tokens=7, backends=fake_backends(), embed=bag_embed,
              progress=False, media_dir=tmp_path / "media", measure_perception=False)


def test_loader_reads_every_measured_action(tmp_path: Path) -> None:
    out = tmp_path / "bench.jsonl"
    build(out, limit=pick_limit(), backends=fake_backends(), embed=bag_embed, progress=False,
          media_dir=tmp_path / "media", measure_perception=False)
    assert is_bench_file(out)
    bench = load_bench(out)
    assert bench.complete()
    for turn in bench.turns:
        mask = bench.space.mask_for(list(turn.present))
        assert (turn.valid == mask).all()
        for a in range(bench.space.n):
            if mask[a]:
                o = turn.outcome(a)
                assert 0.0 <= o["quality"] <= 1.0 and o["latency_s"] >= 0.0  # not NaN
            else:
                with pytest.raises(KeyError):
                    turn.outcome(a)
        assert mask[turn.best_action()]


@pytest.mark.slow
def test_real_backends_two_dialogues_resume_gives_the_same_content(tmp_path: Path) -> None:
    """Local nf4 SmolLM2 + the stand-in cloud over HTTP; greedy, 8 new tokens."""
    real = bench_build.real_backends(max_new_tokens=8)
    try:
        kwargs = dict(limit=2, max_new_tokens=8, progress=False, media_dir=tmp_path / "media")
        whole = tmp_path / "whole.jsonl"
        build(whole, backends=real, **kwargs)
        rows = rows_of(whole)
        outcomes = [r for r in rows if r["type"] == "outcome"]
        assert {r["key"] for r in outcomes} == expected_keys(2)
        assert all(r["error"] is None for r in outcomes)
        assert all(0.0 <= r["score"] <= 1.0 for r in outcomes)
        assert {r["backend"] for r in outcomes} == {"local", "cloud"}
        assert all(r["measured"]["latency_s"] > 0 and r["completion_tokens"] > 0
                   for r in outcomes)
        assert rows[0]["models"]["cloud"]["kind"] == "standin" and rows[0]["judge"] is None

        broken = tmp_path / "broken.jsonl"
        budget = {"left": 3}
        flaky = Backends(InterruptAfter(real.local, budget), InterruptAfter(real.cloud, budget),
                         real.models, real.judge)
        with pytest.raises(Interrupt):
            build(broken, backends=flaky, **kwargs)
        build(broken, backends=real, **kwargs)
        assert [content_view(r) for r in rows] == [content_view(r) for r in rows_of(broken)]
    finally:
        if real.close is not None:
            real.close()
