"""The small model's confidence in its recorded bench answers (lab/bench/confidence.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lab.bench.confidence import answer_confidence, report, roc_auc

V2 = Path(__file__).resolve().parent.parent / "assets" / "bench" / "lcio-bench-v2.jsonl"


def test_roc_auc_counts_ordered_pairs_and_ties_half() -> None:
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert math.isnan(roc_auc([0.1, 0.2], [True, True]))


@pytest.mark.slow
def test_the_recorded_answers_are_what_the_model_would_say(tmp_path: Path) -> None:
    """Re-read through the build's own prompts, the greedy answers the build recorded are
    likely to the model that wrote them (on v2, the median answer's mean is about -0.76)."""
    rows = answer_confidence(V2, limit=1)
    assert rows and all(r["mean_logprob"] <= 0 for r in rows)
    assert sum(r["mean_logprob"] for r in rows) / len(rows) > -1.5  # greedy text: near-argmax tokens
    assert "| all |" in report(rows)
