"""Can "local is good enough" be predicted before answering, on prompts from families never seen?

Issue 23, item 3, measured: each turn's features are a semantic embedding of the prompt (the
shipped all-MiniLM-L6-v2), the task, the attachment kinds, the turn index and whether the turn
refers back; the label is "the best local action scores at least the best cloud action minus
0.05". A logistic model is fitted with whole families held out (GroupKFold on the turn's
`family`, or v2's `blueprint`), and scored by ROC AUC and a reliability curve. The same model
with a random split by dialogue is printed beside it: the gap between the two is what a split
that shares templates with training hides.

    python -m lab.bench.predictability --dataset assets/bench/lcio-bench-v2.jsonl
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MARGIN = 0.05


@dataclass(frozen=True)
class TurnRow:
    """One turn as the predictor sees it before answering, with its measured label."""

    key: str
    dialogue: str
    family: str
    prompt: str
    task: str
    kinds: tuple[str, ...]
    turn: int
    refers_back: bool
    local_best: float
    cloud_best: float

    @property
    def local_good_enough(self) -> bool:
        return self.local_best >= self.cloud_best - MARGIN


def read_rows(path: Path) -> list[TurnRow]:
    """Turns that have both a local and a cloud outcome, with their family (v3) or blueprint (v2)."""
    turns: dict[str, dict] = {}
    best: dict[str, dict[str, float]] = {}
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            if row.get("type") == "turn":
                turns[row["key"]] = row
            elif row.get("type") == "outcome" and row.get("score") is not None:
                key = row["key"].rsplit("/", 1)[0]
                side = best.setdefault(key, {})
                side[row["location"]] = max(side.get(row["location"], -1.0), float(row["score"]))
    rows = []
    for key, t in turns.items():
        side = best.get(key, {})
        if "local" not in side or "cloud" not in side:
            continue
        rows.append(TurnRow(key, t["dialogue"], str(t.get("family") or t.get("blueprint") or t["task"]),
                            t["prompt"], t["task"], tuple(a.get("kind", "") for a in t["attachments"]),
                            int(t["turn"]), bool(t.get("refers_to")), side["local"], side["cloud"]))
    return rows


def features(rows: list[TurnRow], embed) -> np.ndarray:
    """Prompt embedding, then task one-hot, image/audio counts, turn index and refers-back."""
    tasks = sorted({r.task for r in rows})
    emb = np.asarray(embed([r.prompt or "(no text)" for r in rows]), dtype=float)
    extra = np.array([[float(r.task == t) for t in tasks]
                      + [r.kinds.count("image"), r.kinds.count("audio"), min(r.turn, 4) / 4,
                         float(r.refers_back)] for r in rows])
    return np.hstack([emb, extra])


PENALTIES = (0.01, 0.1, 1.0)


def _fit(x: np.ndarray, y: np.ndarray, penalty: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=penalty, max_iter=3000, class_weight="balanced").fit(x, y)


def _chosen_penalty(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> float:
    """The penalty that predicts best on held-out groups *within* the training part (nested),
    so the reported AUC is not tuned on the turns it is measured on."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    inner = GroupKFold(n_splits=min(3, len(set(groups))), shuffle=True, random_state=seed)
    splits = [(a, b) for a, b in inner.split(x, y, groups) if len(set(y[a])) == 2 == len(set(y[b]))]
    if not splits:
        return PENALTIES[-1]
    auc = {c: np.mean([roc_auc_score(y[b], _fit(x[a], y[a], c).predict_proba(x[b])[:, 1])
                       for a, b in splits]) for c in PENALTIES}
    return max(auc, key=auc.__getitem__)


def held_out_probabilities(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int,
                           seed: int) -> np.ndarray:
    """Each turn's probability from a model that never saw its group."""
    from sklearn.model_selection import GroupKFold

    prob = np.full(len(y), np.nan)
    splitter = GroupKFold(n_splits=min(folds, len(set(groups))), shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y, groups):
        if len(set(y[train])) < 2:
            prob[test] = y[train].mean()
            continue
        penalty = _chosen_penalty(x[train], y[train], groups[train], seed)
        prob[test] = _fit(x[train], y[train], penalty).predict_proba(x[test])[:, 1]
    return prob


def reliability(prob: np.ndarray, y: np.ndarray, bins: int = 5) -> list[tuple[float, float, int]]:
    """(mean predicted, observed frequency, count) per equal-width probability bin."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    return [(float(prob[which == b].mean()), float(y[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


def report(rows: list[TurnRow], embed, folds: int = 5, seeds: tuple[int, ...] = (0, 1, 2)) -> str:
    """Markdown: AUC with families held out and with dialogues held out, per seed, plus the
    reliability curve of the first seed's held-out-family predictions."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    x = features(rows, embed)
    y = np.array([r.local_good_enough for r in rows], dtype=int)
    fams = np.array([r.family for r in rows])
    dialogues = np.array([r.dialogue for r in rows])
    lines = [f"{len(rows)} turns, {len(set(fams))} families, {len(set(dialogues))} dialogues; "
             f"local good enough (within {MARGIN}) on {y.mean():.0%}", "",
             "| split | seed | ROC AUC | Brier |", "|---|---|---|---|"]
    curve = None
    for name, groups in (("families held out", fams), ("dialogues held out", dialogues)):
        for seed in seeds:
            prob = held_out_probabilities(x, y, groups, folds, seed)
            lines.append(f"| {name} | {seed} | {roc_auc_score(y, prob):.3f} | "
                         f"{brier_score_loss(y, prob):.3f} |")
            if curve is None:
                curve = reliability(prob, y)
    lines += ["", "Reliability (families held out, seed 0):", "",
              "| predicted | observed | turns |", "|---|---|---|"]
    lines += [f"| {p:.2f} | {o:.2f} | {n} |" for p, o, n in curve or []]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("assets/bench/lcio-bench-v2.jsonl"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    from lab.scoring import minilm_embed

    print(report(read_rows(args.dataset), minilm_embed, args.folds))


if __name__ == "__main__":
    main()
