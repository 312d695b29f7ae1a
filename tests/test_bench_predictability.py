"""Predicting "local is good enough" with whole families held out (lab/bench/predictability.py).

Two synthetic benchmarks with the same prompts: in one the label follows the prompt's meaning
(so it carries over to families never seen), in the other it is each family's own coin (so
only a split that lets the family into training can learn it). The held-out-family AUC must
tell the two apart; the dialogue split must not."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from lab.bench.predictability import held_out_probabilities, read_rows, reliability


def _bench(path: Path, label_by_meaning: bool, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    coin = {f: bool(rng.integers(2)) for f in range(24)}
    with path.open("w") as f:
        for fam in range(24):
            for d in range(6):
                key = f"f{fam}d{d}/0"
                easy = bool(rng.integers(2))
                good = easy if label_by_meaning else coin[fam]
                prompt = ("easy " if easy else "hard ") + f"family{fam} dialogue{d}"
                f.write(json.dumps({"type": "turn", "key": key, "dialogue": f"f{fam}d{d}",
                                    "family": f"fam{fam}", "prompt": prompt, "task": "chat",
                                    "attachments": [], "turn": 0}) + "\n")
                for loc, score in (("local", 0.9 if good else 0.2), ("cloud", 0.6)):
                    f.write(json.dumps({"type": "outcome", "key": f"{key}/{loc}",
                                        "location": loc, "score": score}) + "\n")
    return path


def _embed(texts: list[str]) -> np.ndarray:
    """A stand-in for MiniLM: one dimension for the meaning, hashed ones for the rest."""
    out = np.zeros((len(texts), 33))
    for i, t in enumerate(texts):
        out[i, 0] = 1.0 if t.startswith("easy") else -1.0
        for word in t.split()[1:]:
            out[i, 1 + zlib.crc32(word.encode()) % 32] += 1.0
    return out


def _auc(rows, by: str) -> float:
    from sklearn.metrics import roc_auc_score

    from lab.bench.predictability import features

    x = features(rows, _embed)
    y = np.array([r.local_good_enough for r in rows], dtype=int)
    groups = np.array([getattr(r, by) for r in rows])
    return float(roc_auc_score(y, held_out_probabilities(x, y, groups, 4, 0)))


def test_a_label_that_follows_meaning_is_predicted_on_unseen_families(tmp_path: Path) -> None:
    rows = read_rows(_bench(tmp_path / "b.jsonl", label_by_meaning=True))
    assert len(rows) == 144 and {r.family for r in rows} == {f"fam{i}" for i in range(24)}
    assert _auc(rows, "family") > 0.9


def test_a_label_that_is_the_family_itself_is_not_predicted_on_unseen_families(tmp_path: Path) -> None:
    rows = read_rows(_bench(tmp_path / "b.jsonl", label_by_meaning=False))
    assert _auc(rows, "family") < 0.7 < _auc(rows, "dialogue")


def test_reliability_bins_cover_every_turn() -> None:
    prob = np.linspace(0, 1, 50)
    y = (prob > 0.5).astype(int)
    curve = reliability(prob, y)
    assert sum(n for _, _, n in curve) == 50
    assert curve[0][1] == 0.0 and curve[-1][1] == 1.0
