"""Ranking conditions from pairwise votes, as Chatbot Arena does: Bradley–Terry strengths
with bootstrap confidence intervals, and plain win rates beside them.

A vote is (left condition, right condition, outcome) with outcome "A" (left wins), "B"
(right wins), "tie" or "both_bad"; ties and "both bad" count as half a win each way.
Bradley–Terry: P(i beats j) = p_i / (p_i + p_j), fitted by Hunter's (2004) MM iterations;
reported as `score` = ln p_i centred on the mean (a 1-point gap = e:1 odds). Pure Python,
so the export's script can reproduce it anywhere.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

OUTCOMES = ("A", "B", "tie", "both_bad")


def wins_matrix(votes: Iterable[dict[str, Any]], conditions: Sequence[str]
                ) -> dict[tuple[str, str], float]:
    """w[(i, j)]: how many times i beat j (half a win each way for a tie or both bad)."""
    w: dict[tuple[str, str], float] = defaultdict(float)
    known = set(conditions)
    for v in votes:
        a, b, outcome = v["left_condition"], v["right_condition"], v["vote"]
        if a not in known or b not in known or a == b or outcome not in OUTCOMES:
            continue
        if outcome == "A":
            w[(a, b)] += 1
        elif outcome == "B":
            w[(b, a)] += 1
        else:
            w[(a, b)] += 0.5
            w[(b, a)] += 0.5
    return w


def bradley_terry(votes: Iterable[dict[str, Any]], conditions: Sequence[str],
                  iterations: int = 2000, tol: float = 1e-10, prior: float = 0.01
                  ) -> dict[str, float]:
    """{condition: centred ln-strength}. `prior`: a tiny tie between every pair, so a
    condition that never lost (or never won) gets a finite score."""
    names = list(conditions)
    w = wins_matrix(votes, names)
    for i in names:
        for j in names:
            if i != j:
                w[(i, j)] += prior / 2
    p = {c: 1.0 for c in names}
    for _ in range(iterations):
        new = {}
        for i in names:
            won = sum(w[(i, j)] for j in names if j != i)
            denom = sum((w[(i, j)] + w[(j, i)]) / (p[i] + p[j]) for j in names if j != i)
            new[i] = won / denom if denom > 0 else p[i]
        total = sum(new.values())
        new = {c: v * len(names) / total for c, v in new.items()}
        done = max(abs(new[c] - p[c]) for c in names) < tol
        p = new
        if done:
            break
    logs = {c: math.log(p[c]) for c in names}
    mean = sum(logs.values()) / len(names)
    return {c: logs[c] - mean for c in names}


def win_rates(votes: Iterable[dict[str, Any]], conditions: Sequence[str]) -> dict[str, dict]:
    """Per condition: comparisons, wins, ties, losses and win rate (ties count half)."""
    out = {c: {"comparisons": 0, "wins": 0, "ties": 0, "losses": 0} for c in conditions}
    for v in votes:
        a, b, outcome = v["left_condition"], v["right_condition"], v["vote"]
        if a not in out or b not in out or outcome not in OUTCOMES:
            continue
        for me, won in ((a, outcome == "A"), (b, outcome == "B")):
            out[me]["comparisons"] += 1
            if outcome in ("tie", "both_bad"):
                out[me]["ties"] += 1
            elif won:
                out[me]["wins"] += 1
            else:
                out[me]["losses"] += 1
    for r in out.values():
        n = r["comparisons"]
        r["win_rate"] = (r["wins"] + r["ties"] / 2) / n if n else None
    return out


def ranking(votes: Sequence[dict[str, Any]], conditions: Sequence[str], rounds: int = 200,
            seed: int = 0, level: float = 0.95) -> list[dict[str, Any]]:
    """Rows best first: condition, score with a percentile bootstrap CI (votes resampled
    with replacement), rank, and win rates."""
    votes = list(votes)
    scores = bradley_terry(votes, conditions)
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {c: [] for c in conditions}
    if votes:
        for _ in range(rounds):
            boot = bradley_terry([votes[rng.randrange(len(votes))] for _ in votes], conditions,
                                 iterations=500, tol=1e-8)
            for c, s in boot.items():
                samples[c].append(s)
    rates = win_rates(votes, conditions)
    rows = []
    for rank, c in enumerate(sorted(conditions, key=lambda c: -scores[c]), start=1):
        low, high = _percentiles(samples[c], (1 - level) / 2, (1 + level) / 2)
        rows.append({"rank": rank, "condition": c, "score": round(scores[c], 4),
                     "score_ci_low": low, "score_ci_high": high, **rates[c],
                     "win_rate": None if rates[c]["win_rate"] is None
                     else round(rates[c]["win_rate"], 4)})
    return rows


def _percentiles(values: list[float], lo: float, hi: float) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    s = sorted(values)

    def q(x: float) -> float:
        k = (len(s) - 1) * x
        f = math.floor(k)
        c = min(f + 1, len(s) - 1)
        return round(s[f] + (s[c] - s[f]) * (k - f), 4)

    return q(lo), q(hi)


def ranking_figure(rows: list[dict[str, Any]]) -> Any:
    """Bradley–Terry score per condition with its bootstrap CI as error bars (plotly)."""
    import plotly.graph_objects as go

    xs = [r["condition"] for r in rows]
    ys = [r["score"] for r in rows]
    up = [(r["score_ci_high"] - r["score"]) if r["score_ci_high"] is not None else 0 for r in rows]
    down = [(r["score"] - r["score_ci_low"]) if r["score_ci_low"] is not None else 0 for r in rows]
    fig = go.Figure(go.Bar(x=xs, y=ys, error_y={"type": "data", "array": up,
                                                "arrayminus": down, "visible": True},
                           text=[f"win {r['win_rate']:.0%}" if r["win_rate"] is not None else ""
                                 for r in rows], textposition="inside"))
    fig.update_layout(title="Pairwise preference (Bradley–Terry score, 95% bootstrap CI)",
                      yaxis={"title": "score (ln odds vs. average)"}, height=340,
                      margin={"l": 40, "r": 10, "t": 50, "b": 40})
    return fig
