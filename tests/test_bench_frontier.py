"""The 95 %-quality frontier on LCIO-Bench v2 (lab/bench/frontier.py)."""

from __future__ import annotations

from pathlib import Path

from lab.bench.frontier import QUALITY_SHARE, frontier, least_dollars

V2 = Path(__file__).resolve().parent.parent / "assets" / "bench" / "lcio-bench-v2.jsonl"


def test_least_dollars_takes_the_cheapest_point_that_keeps_the_quality() -> None:
    points = [(1.0, 0.9), (0.96, 0.4), (0.951, 0.5), (0.94, 0.1)]
    assert least_dollars(points) == (0.96, 0.4)
    assert least_dollars([(0.9, 0.2), (0.93, 0.6)]) == (0.93, 0.6)  # none keeps it: most quality


def test_knowing_each_turn_beats_knowing_the_task_on_v2() -> None:
    result = frontier(V2, seeds=2)
    hindsight, learned = result["hindsight, per turn"], result["learned, per (task, files)"]
    for (hq, hd), (lq, ld) in zip(hindsight, learned, strict=True):
        assert hq >= QUALITY_SHARE and 0 < hd < 1
        assert lq < QUALITY_SHARE or ld > hd  # the task alone needs more dollars, or never gets there
