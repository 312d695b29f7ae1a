"""Per-condition statistics and the token check, on known numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.study.config import StudyConfig
from app.study.researcher import token_ok
from app.study.stats import by_condition, t_interval


def test_t_interval_matches_the_textbook() -> None:
    mean, lo, hi = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean - lo == pytest.approx(hi - mean)  # sd 1.5811, t(0.975, 4) = 2.7764
    assert mean == 3.0 and hi - mean == pytest.approx(2.7764 * 1.5811 / 5 ** 0.5, rel=1e-3)
    assert t_interval([4.0]) == (4.0, 4.0, 4.0)


def test_ci_is_over_participant_means_and_costs_per_condition() -> None:
    rows = [  # p1 rates A 5 and 5, p2 rates A 1 (once): two participants, three ratings
        {"participant": "p1", "condition": "A", "status": "answered", "rating": 5,
         "cost_usd": 0.002, "latency_s": 2.0, "location": "cloud"},
        {"participant": "p1", "condition": "A", "status": "answered", "rating": 5,
         "cost_usd": 0.004, "latency_s": 4.0, "location": "cloud"},
        {"participant": "p2", "condition": "A", "status": "answered", "rating": 1,
         "cost_usd": 0.0, "latency_s": 1.0, "location": "local"},
        {"participant": "p3", "condition": "B", "status": "failed", "rating": None,
         "cost_usd": None, "latency_s": None, "location": None},
    ]
    a, b = by_condition(rows, ["A", "B"])
    assert (a["participants"], a["ratings"]) == (2, 3)
    assert a["rating_participant_mean"] == 3.0 and a["mean_rating"] == pytest.approx(3.667, 1e-3)
    assert a["rating_ci_low"] < 1 and a["rating_ci_high"] > 5  # two people: a wide interval
    assert a["total_cost_usd"] == 0.006 and a["cloud_share"] == pytest.approx(0.667, 1e-3)
    assert a["mean_latency_s"] == pytest.approx(7 / 3, 1e-3)
    assert b["participants"] == 0 and b["rating_participant_mean"] is None


def test_token_check(tmp_path: Path) -> None:
    cfg = StudyConfig(conditions=[{"name": "a", "policy": "cloud-only"}], token="right-one")
    assert token_ok(cfg, "right-one")
    assert not any(token_ok(cfg, t) for t in (None, "", "right-on", "right-one ", "RIGHT-ONE"))
    closed = StudyConfig(conditions=[{"name": "a", "policy": "cloud-only"}])
    assert not token_ok(closed, "") and not token_ok(closed, None)  # no token: nobody
