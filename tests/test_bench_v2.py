"""LCIO-Bench v2: its dialogues, the batched answers and the timing fit that the build uses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lab.bench.build import ACTION_SPACE, prepare, request_for, valid_actions
from lab.bench.headroom import headroom
from lab.bench.scenarios import TASKS, generate
from lab.bench.scenarios_v2 import generate_v2
from lab.bench.timing import Sample, TimingModel, fit_side

V1 = Path(__file__).resolve().parent.parent / "assets" / "bench" / "lcio-bench-v1.jsonl"


def test_v2_is_big_enough_deterministic_and_uses_every_task() -> None:
    dialogues = generate_v2(0)
    turns = [t for d in dialogues for t in d.turns]
    assert len(dialogues) >= 150 and len(turns) >= 500
    assert set(Counter(t.task for t in turns)) == set(TASKS)
    assert generate_v2(0) == dialogues
    assert generate_v2(1) != dialogues
    # some attachments are sent along but not needed, so leaving them out can pay
    assert sum(not all(t.relevant) for t in turns if t.attachments) >= 20


def test_v1_dialogues_are_unchanged_by_v2() -> None:
    dialogues = generate(0)
    assert (len(dialogues), sum(len(d.turns) for d in dialogues)) == (117, 357)
    assert {t.task for d in dialogues for t in d.turns} == set(TASKS[:8])


def test_timing_fit_recovers_a_known_speed() -> None:
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(12):
        p, n = int(rng.integers(20, 600)), int(rng.integers(5, 256))
        latency = 0.4 + 0.002 * p + 0.07 * n
        samples.append(Sample("local", p, n, 0.4 + 0.002 * p, latency, 9.0 * latency))
    fit = fit_side(samples)
    assert fit.latency == pytest.approx((0.4, 0.002, 0.07), rel=1e-6)
    assert fit.joules_per_s == pytest.approx(9.0)
    assert fit.loo_median_rel_error < 1e-6
    model = TimingModel.fit(samples)
    again = TimingModel.from_json(model.to_json())
    assert again.predict("local", 100, 50)["latency_s"] == pytest.approx(0.4 + 0.2 + 3.5)


def test_timing_fit_never_goes_negative() -> None:
    samples = [Sample("cloud", p, n, 0.5, 2.0 - 0.001 * p + 0.05 * n, 0.0)
               for p, n in [(10, 5), (400, 5), (800, 50), (50, 200), (300, 120)]]
    fit = fit_side(samples)
    assert min(fit.latency) >= 0 and min(fit.ttft) >= 0


def test_headroom_reproduces_the_v1_figures_the_issue_quotes() -> None:
    report = headroom(V1)
    assert report["cloud_minus_local_score"] == pytest.approx(0.057, abs=0.001)
    assert report["zero_everywhere_share"] == pytest.approx(0.45, abs=0.01)
    assert report["routing_gain_in_sample"] == pytest.approx(0.015, abs=0.001)
    assert report["loop_share"]["local"] > 0.05  # v1 decoded plainly: SmolLM2 ran in circles


@pytest.mark.slow
def test_batched_prompts_and_answers_match_the_local_backend(tmp_path: Path) -> None:
    """The batch reads the very prompt the backend builds; alone in its batch, it answers the
    same text. (In a padded batch, float sums run in another order, so a near tie between two
    tokens can go the other way: the build records how often on its timed sample.)"""
    from backends.config import get_settings
    from backends.local import LocalBackend
    from lab.bench.batched import Side

    settings = get_settings()
    backend = LocalBackend(settings)
    side = Side(backend)
    dialogue = next(d for d in generate_v2(0) if d.blueprint == "greet")
    turns = prepare(dialogue, tmp_path)
    requests = [request_for(turns[: p.index], p, ACTION_SPACE.actions[a], 24)
                for p in turns for a in valid_actions(len(p.attachments))][:3]
    prompts = [side.prompt(r) for r in requests]
    single = [backend.generate(r) for r in requests]
    assert [len(p.ids) for p in prompts] == [s.prompt_tokens for s in single]
    for prompt, expected in zip(prompts, single, strict=True):
        (alone,) = side.answer([prompt])
        assert alone.text.strip() == expected.text.strip()
        assert alone.completion_tokens == expected.completion_tokens
    together = side.answer(prompts)
    assert [a.prompt_tokens for a in together] == [len(p.ids) for p in prompts]
    assert all(a.text for a in together)


def test_judge_agreement_counts_order_agreement_within_a_turn() -> None:
    from lab.bench.judge_agreement import agreement

    pairs = [("a", 0.9, 0.8), ("a", 0.2, 0.1), ("b", 0.5, 0.9), ("b", 0.6, 0.3), ("c", 0.4, 0.4)]
    report = agreement(pairs)
    assert report["n"] == 5
    assert report["pairs_same_order"] == "1/2"  # a agrees, b disagrees, c has one answer
    assert report["mean_abs_diff"] == pytest.approx((0.1 + 0.1 + 0.4 + 0.3 + 0.0) / 5)
