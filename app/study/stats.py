"""Per-condition summaries for the researcher: ratings with 95 % CIs, cost and latency.

Ratings from one person are correlated, so the confidence interval of a condition's mean
rating is a t-interval over participant means (one number per participant and condition),
not over all ratings as if independent; the mean over all ratings is reported beside it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high); with fewer than two values the interval is the mean itself."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = _t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def _t_quantile(q: float, df: int) -> float:
    try:
        from scipy.stats import t

        return float(t.ppf(q, df))
    except ImportError:  # pragma: no cover - scipy comes with scikit-image
        return 1.959964 if df > 30 else {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}.get(
            df, 2.3)


def by_condition(rows: Iterable[dict[str, Any]], conditions: list[str]) -> list[dict[str, Any]]:
    """One summary per condition from `StudyStore.turn_rows()` (answered turns only)."""
    per_person: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    ratings: dict[str, list[float]] = defaultdict(list)
    cost: dict[str, list[float]] = defaultdict(list)
    latency: dict[str, list[float]] = defaultdict(list)
    cloud: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.get("status") != "answered":
            continue
        c = r["condition"]
        if r.get("rating") is not None:
            ratings[c].append(float(r["rating"]))
            per_person[c][r["participant"]].append(float(r["rating"]))
        if r.get("cost_usd") is not None:
            cost[c].append(float(r["cost_usd"]))
        if r.get("latency_s") is not None:
            latency[c].append(float(r["latency_s"]))
        if r.get("location"):
            cloud[c].append(1.0 if r["location"] == "cloud" else 0.0)
    out = []
    for c in conditions:
        means = [sum(v) / len(v) for v in per_person[c].values()]
        m, lo, hi = t_interval(means)
        lat_m, lat_lo, lat_hi = t_interval(latency[c])
        out.append({
            "condition": c, "participants": len(means), "ratings": len(ratings[c]),
            "mean_rating": _r(sum(ratings[c]) / len(ratings[c]) if ratings[c] else math.nan),
            "rating_participant_mean": _r(m), "rating_ci_low": _r(lo), "rating_ci_high": _r(hi),
            "turns": len(latency[c]), "cloud_share": _r(_mean(cloud[c])),
            "mean_cost_usd": _r(_mean(cost[c]), 6), "total_cost_usd": _r(sum(cost[c]), 6),
            "mean_latency_s": _r(lat_m), "latency_ci_low": _r(lat_lo),
            "latency_ci_high": _r(lat_hi),
        })
    return out


def _mean(v: list[float]) -> float:
    return sum(v) / len(v) if v else math.nan


def _r(x: float, digits: int = 3) -> float | None:
    return None if x is None or math.isnan(x) else round(x, digits)


def ratings_figure(summary: list[dict[str, Any]]) -> Any:
    """Mean rating per condition with its 95 % CI as error bars (plotly)."""
    import plotly.graph_objects as go

    xs = [s["condition"] for s in summary]
    ys = [s["rating_participant_mean"] for s in summary]
    up = [(s["rating_ci_high"] - s["rating_participant_mean"])
          if s["rating_ci_high"] is not None else 0 for s in summary]
    down = [(s["rating_participant_mean"] - s["rating_ci_low"])
            if s["rating_ci_low"] is not None else 0 for s in summary]
    fig = go.Figure(go.Bar(x=xs, y=ys, error_y={"type": "data", "array": up,
                                                "arrayminus": down, "visible": True},
                           text=[f"n={s['participants']}" for s in summary],
                           textposition="inside"))
    fig.update_layout(title="Rating by condition (mean of participant means, 95% CI)",
                      yaxis={"range": [0, 5.5], "title": "rating (1–5)"}, height=340,
                      margin={"l": 40, "r": 10, "t": 50, "b": 40})
    return fig
