"""Reporting shared by both evaluators (M4A1 and LCIO-Bench): per-seed metrics aggregated
over seeds, fixed-width tables, the budget-sweep table and one plotly page.

Metrics arrive as {policy: {budget scale: {metric: value}}} per seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def prepare_run(args) -> Path:
    """What every evaluator does first: one torch thread (so that seeds and policies are timed
    alike), the nominal scale 1.0 in the sweep, and the output's cache folder (returned)."""
    import torch

    torch.set_num_threads(1)
    args.sweep = sorted(set(args.sweep) | {1.0})
    cache = Path(args.out) / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


COLUMNS = ["reward_paper", "reward_plain", "quality", "latency_s", "usd", "over_budget_share",
           "overspend_latency_s", "overspend_usd", "cloud_share", "oracle_share", "decide_ms_p99"]


def aggregate(per_seed: list[dict]) -> dict:
    """{policy: {scale: {metric: {"mean", "std", "per_seed"}}}}"""
    agg: dict = {}
    for name in per_seed[0]:
        for scale in per_seed[0][name]:
            for m in per_seed[0][name][scale]:
                vals = [s[name][scale][m] for s in per_seed]
                agg.setdefault(name, {}).setdefault(scale, {})[m] = {
                    "mean": float(np.mean(vals)), "std": float(np.std(vals)), "per_seed": vals}
    return agg

def table(agg: dict, scale: float, columns: list[str] = COLUMNS) -> str:
    """Mean ± std over seeds of each metric, one row per policy, at one budget scale."""
    head = f"{'policy':<20}" + "".join(f"{c:>22}" for c in columns)
    rows = [head, "-" * len(head)]
    for name, by_scale in agg.items():
        r = by_scale[scale]
        cells = []
        for c in columns:
            v = r.get(c)
            cells.append(f"{'—':>22}" if v is None else f"{v['mean']:>13.4g} ± {v['std']:<6.2g}")
        rows.append(f"{name:<20}" + "".join(cells))
    return "\n".join(rows)

def sweep_table(agg: dict, scales: list[float], train_range: tuple[float, float] | None,
                reward: str = "reward_paper", budgets: str = "30 s, $0.05") -> str:
    """Reward and over-budget share per policy across budget scales; * marks the scales outside
    `train_range` (those LCIO's budget prices never saw in training; None: it has none)."""
    label = f"budget ×({budgets})"
    width = max(24, len(label) + 2, *(len(n) + len(" reward") + 1 for n in agg))
    head = f"{label:<{width}}" + "".join(
        f"{s:>10g}{'' if train_range is None or train_range[0] <= s <= train_range[1] else '*':1}"
        for s in scales)
    rows = [head]
    for name, by in agg.items():
        rows.append(f"{name + ' reward':<{width}}"
                    + "".join(f"{by[s][reward]['mean']:>11.3f}" for s in scales))
        rows.append(f"{'   over-budget share':<{width}}"
                    + "".join(f"{by[s]['over_budget_share']['mean']:>11.2f}" for s in scales))
    if train_range is not None:
        rows.append("* budget scale never seen while training LCIO's budget prices")
    return "\n".join(rows)

def plots(agg: dict, scales: list[float], nominal: float, path: Path,
          reward: str = "reward_paper", budgets: str = "30 s / $0.05",
          title: str = "LCIO policies on M4A1 (held-out 20 %)") -> None:
    """Reward at the nominal budget, the budget sweep and cost–quality, as one HTML page
    with plotly.js embedded (it opens offline)."""
    from plotly.subplots import make_subplots

    names = list(agg)
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        f"{reward} at {budgets} (mean ± std over seeds)", f"Budget sweep: {reward}",
        "Cost–quality per dialogue"))
    fig.add_bar(x=names, y=[agg[n][nominal][reward]["mean"] for n in names],
                error_y={"array": [agg[n][nominal][reward]["std"] for n in names]},
                row=1, col=1, showlegend=False)
    for n in names:
        fig.add_scatter(x=scales, y=[agg[n][s][reward]["mean"] for s in scales], name=n,
                        mode="lines+markers", legendgroup=n, row=1, col=2,
                        text=[f"over budget: {agg[n][s]['over_budget_share']['mean']:.0%}"
                              for s in scales])
        fig.add_scatter(x=[agg[n][s]["usd"]["mean"] for s in scales],
                        y=[agg[n][s]["quality"]["mean"] for s in scales], name=n, mode="markers",
                        legendgroup=n, showlegend=False, row=1, col=3,
                        text=[f"budget ×{s}" for s in scales])
    fig.update_xaxes(title_text="budget scale", row=1, col=2)
    fig.update_xaxes(title_text="dollars per dialogue", row=1, col=3)
    fig.update_yaxes(title_text="mean quality", row=1, col=3)
    fig.update_layout(title=title, height=520, width=1600)
    fig.write_html(path, include_plotlyjs=True)
