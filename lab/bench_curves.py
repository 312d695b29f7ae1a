"""Quality-vs-cost on LCIO-Bench: LCIO swept over its dollar weight and its budgets, beside the
RouteLLM-style router swept over its threshold (target cloud share) and the cascade over its
weakness threshold; the "≥ 95 % of cloud-only quality at ≤ 35 % of its dollars" check; the
figure (plotly; PNG when kaleido is installed, else a self-contained HTML page)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np

from policies.base import Policy
from policies.bench.baselines import _Estimates
from policies.bench.observation import BenchWeights
from policies.bench.planner import BenchPlanner
from policies.bench.routers import BenchCascade, BenchRouter

ROUTER_SHARES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
LCIO_DOLLAR_WEIGHTS = [0.0, 20.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0]
CASCADE_THRESHOLDS = [0.1, 0.3, 0.5, 0.7, 0.9]
QUALITY_SHARE, DOLLAR_SHARE = 0.95, 0.35  # the target: ≥ 95 % quality at ≤ 35 % dollars


def lcio_with_dollar_weight(policy: BenchPlanner, per_usd: float) -> BenchPlanner:
    """The same trained policy deciding with another price per dollar (nothing refitted)."""
    out = copy.copy(policy)
    w = policy.est.weights
    out.est = _Estimates(policy.outcomes, BenchWeights(w.per_s, per_usd, w.per_j), policy.space)
    return out


def curves(planner: BenchPlanner, router: BenchRouter, cascade: BenchCascade,
           play: Callable[[Policy], dict[str, float]]) -> dict[str, list[dict[str, float]]]:
    """{curve: [{knob, quality, usd, reward, cloud_share}, ...]} at the nominal budgets;
    `play(policy)` returns a policy's summary on the held-out dialogues."""
    def point(knob: float, policy: Policy) -> dict[str, float]:
        s = play(policy)
        return {"knob": knob, **{k: s[k] for k in ("quality", "usd", "reward", "cloud_share",
                                                   "refused_share", "over_budget_share")}}

    return {
        "lcio (dollar weight)": [point(w, lcio_with_dollar_weight(planner, w)) for w in LCIO_DOLLAR_WEIGHTS],
        "router (cloud share)": [point(s, BenchRouter(router.model, s, router.space))
                                 for s in ROUTER_SHARES],
        "cascade (weakness threshold)": [point(t, BenchCascade(cascade.weakness, t, cascade.space))
                                         for t in CASCADE_THRESHOLDS],
    }


def mean_curves(per_seed: list[dict[str, list[dict[str, float]]]]) -> dict[str, list[dict[str, float]]]:
    """Each curve's points averaged over seeds (the knobs are the same on every seed)."""
    out = {}
    for name, points in per_seed[0].items():
        out[name] = [{k: float(np.mean([s[name][i][k] for s in per_seed])) for k in points[i]}
                     for i in range(len(points))]
    return out


def cheap_and_good(agg: dict, curve_means: dict, nominal: float, cloud: str = "cloud-only") -> dict:
    """Which policies and curve points keep ≥ 95 % of cloud-only's quality at ≤ 35 % of its
    dollars (means over seeds, nominal budgets)."""
    q0, d0 = agg[cloud][nominal]["quality"]["mean"], agg[cloud][nominal]["usd"]["mean"]

    def ok(q: float, d: float) -> dict:
        return {"quality_share": q / q0, "dollar_share": d / d0,
                "met": bool(q >= QUALITY_SHARE * q0 and d <= DOLLAR_SHARE * d0)}

    return {
        "cloud_only": {"quality": q0, "usd": d0},
        "policies": {n: ok(by[nominal]["quality"]["mean"], by[nominal]["usd"]["mean"])
                     for n, by in agg.items()},
        "curves": {n: [{"knob": p["knob"], **ok(p["quality"], p["usd"])} for p in pts]
                   for n, pts in curve_means.items()},
    }


def figure(agg: dict, curve_means: dict, scales: list[float], out: Path) -> Path:
    """Quality vs dollars per dialogue: the curves, LCIO's budget sweep, every policy at the
    nominal budgets, and the target box. Returns the file written (PNG or HTML)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, pts in curve_means.items():
        fig.add_scatter(x=[p["usd"] for p in pts], y=[p["quality"] for p in pts], name=name,
                        mode="lines+markers", text=[f"{p['knob']:g}" for p in pts])
    lcio = agg.get("lcio-lookahead", {})
    if lcio:
        fig.add_scatter(x=[lcio[s]["usd"]["mean"] for s in scales],
                        y=[lcio[s]["quality"]["mean"] for s in scales], name="lcio (budget ×)",
                        mode="lines+markers", text=[f"×{s:g}" for s in scales])
    nominal = 1.0
    fig.add_scatter(x=[by[nominal]["usd"]["mean"] for by in agg.values()],
                    y=[by[nominal]["quality"]["mean"] for by in agg.values()], text=list(agg),
                    name="policies at nominal budgets", mode="markers+text", textposition="top center")
    if "cloud-only" in agg:
        q0, d0 = agg["cloud-only"][nominal]["quality"]["mean"], agg["cloud-only"][nominal]["usd"]["mean"]
        fig.add_shape(type="rect", x0=0, x1=DOLLAR_SHARE * d0, y0=QUALITY_SHARE * q0, y1=max(q0, 0.5),
                      line={"dash": "dot"}, fillcolor="rgba(0,160,0,0.08)")
    fig.update_layout(title="LCIO-Bench held-out: mean quality vs dollars per dialogue "
                      "(box: ≥ 95 % of cloud-only quality at ≤ 35 % of its dollars)",
                      xaxis_title="dollars per dialogue", yaxis_title="mean quality", width=1100, height=650)
    try:
        import kaleido  # noqa: F401

        path = out / "quality_vs_cost.png"
        fig.write_image(path)
    except ImportError:
        path = out / "quality_vs_cost.html"
        fig.write_html(path, include_plotlyjs=True)
    return path
