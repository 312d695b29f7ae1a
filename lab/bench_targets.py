"""The issue's targets on LCIO-Bench, checked from the aggregated results (means over seeds)."""

from __future__ import annotations

REWARD_VS_BEST_BASELINE, ORACLE_SHARE, REFUSED_AT_HALF = 1.15, 0.90, 0.05


def targets(agg: dict, nominal: float, app_ms: tuple[float, float], oracle: str, lcio: str) -> dict:
    """Each target's figure and whether it is met: LCIO ≥ 1.15 × the best baseline's reward
    and ≥ 0.90 of the oracle's at the nominal budgets, no overspending at any scale of the
    sweep, ≤ 5 % refused turns at 0.5×, decision p99 < 1 ms."""
    mine, orc = agg[lcio], agg[oracle]
    reward = {n: by[nominal]["reward"]["mean"] for n, by in agg.items()}
    # baselines: every policy but the oracle and LCIO's own ablations ("lcio, ...")
    baselines = {n: r for n, r in reward.items() if n != oracle and not n.startswith(lcio.split("-")[0])}
    best = max(baselines, key=baselines.get) if baselines else None
    out = {
        "lcio_reward": reward[lcio],
        "best_baseline": best,
        "best_baseline_reward": baselines.get(best),
        "lcio_vs_best_baseline": reward[lcio] / baselines[best] if best and baselines[best] > 0 else None,
        "lcio_oracle_share": reward[lcio] / reward[oracle],
        "lcio_oracle_share_per_seed": [
            a / b for a, b in zip(mine[nominal]["reward"]["per_seed"], orc[nominal]["reward"]["per_seed"],
                                  strict=True)],
        "lcio_zero_violations_all_budgets": all(v["over_budget_share"]["mean"] == 0 for v in mine.values()),
        "lcio_refused_share_at_0.5": mine[0.5]["refused_share"]["mean"] if 0.5 in mine else None,
        "lcio_decide_ms_p99": max(v["decide_ms_p99"]["mean"] for v in mine.values()),
        "lcio_decide_cpu_ms_p99": max(v["decide_cpu_ms_p99"]["mean"] for v in mine.values()),
        "lcio_observe_and_decide_ms_p99": app_ms[0],
        "lcio_observe_and_decide_cpu_ms_p99": app_ms[1],
        "lcio_best_non_oracle": best is None or reward[lcio] >= baselines[best],
    }
    refused = out["lcio_refused_share_at_0.5"]
    out["met"] = {
        "reward >= 1.15x best baseline": bool(out["lcio_vs_best_baseline"]
                                               and out["lcio_vs_best_baseline"] >= REWARD_VS_BEST_BASELINE),
        ">= 0.90 of oracle": out["lcio_oracle_share"] >= ORACLE_SHARE,
        "zero_violations": out["lcio_zero_violations_all_budgets"],
        "<= 5% refused at 0.5x": refused is not None and refused <= REFUSED_AT_HALF,
        "decide_p99<1ms (wall clock)": out["lcio_decide_ms_p99"] < 1.0
        and out["lcio_observe_and_decide_ms_p99"] < 1.0,
        "decide_p99<1ms (CPU time)": out["lcio_decide_cpu_ms_p99"] < 1.0
        and out["lcio_observe_and_decide_cpu_ms_p99"] < 1.0,
    }
    return out
