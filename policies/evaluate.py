"""Compare every policy on the held-out dialogues of each seed, and sweep budgets.

    python -m policies.evaluate --dataset ../shared/data/m4a1/M4A1.json --seeds 3 --out runs/eval
    python -m policies.evaluate --dataset assets/bench/lcio-bench-v1.jsonl --seeds 3 --out runs/eval-bench

An LCIO-Bench file (detected by its header) goes to `policies.bench_eval` (measured outcomes).

Seed s: the 80/20 split, the simulator (k-NN on the 80 %), the training of RC-A2C and RCRL,
and the random baselines all use s. Trained models are cached under OUT/cache.
Writes OUT/results.json (metric names as in the table) and OUT/results.html (plotly).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from policies.baselines import (
    RCA2C,
    CloudOnly,
    FixedSequence,
    GreedyOneStep,
    LocalOnly,
    RandomPolicy,
)
from policies.data import load_dialogues, split_dialogues
from policies.env import PAPER_BUDGETS, EnvConfig, OffloadEnv
from policies.oracle import best_sequence
from policies.rcrl import RCRLConfig, RCRLPolicy, train_rcrl
from policies.registry import DEFAULT_DATASET
from policies.rollout import run_episode, summarise

ORACLE = "oracle (hindsight)"
LCIO = "lcio-rcrl"
PAPER = "rc-a2c (paper)"
COLUMNS = ["reward_paper", "reward_plain", "quality", "latency_s", "usd", "over_budget_share",
           "overspend_latency_s", "overspend_usd", "cloud_share", "oracle_share", "decide_ms_p99"]


def _scaled(scale: float) -> dict[str, float]:
    return {**PAPER_BUDGETS, "latency_s": PAPER_BUDGETS["latency_s"] * scale,
            "usd": PAPER_BUDGETS["usd"] * scale}


def evaluate_seed(dialogues, seed: int, args, cache: Path) -> dict[str, dict[float, dict[str, float]]]:
    """metrics[policy][budget scale] for one seed."""
    train, test = split_dialogues(dialogues, seed)
    rcrl_path = cache / f"rcrl_seed{seed}.json"
    if rcrl_path.exists():
        rcrl = RCRLPolicy.load(rcrl_path)
    else:
        rcrl, _ = train_rcrl(train, RCRLConfig(seed=seed, epochs=args.epochs))
        rcrl.save(rcrl_path, command=f"python -m policies.evaluate (seed {seed}, train split)")
    env = OffloadEnv(test, rcrl.quality, EnvConfig())  # the paper's simulator: k-NN on the train split
    policies = {
        "local-only": lambda: LocalOnly(), "cloud-only": lambda: CloudOnly(seed=seed),
        "random": lambda: RandomPolicy(seed=seed),
        "greedy": lambda: GreedyOneStep(train, env.costs_table),
        LCIO: lambda: rcrl,
    }
    if args.a2c_steps > 0:
        a2c = RCA2C.train(train, seed, args.a2c_steps, cache / f"rc_a2c_seed{seed}_{args.a2c_steps}.zip")
        policies[PAPER] = lambda: a2c
    out: dict[str, dict[float, dict[str, float]]] = {}
    for scale in tqdm(args.sweep, desc=f"seed {seed} budgets", leave=False):
        budgets = _scaled(scale)
        t0 = time.perf_counter()
        plans = [best_sequence(d, rcrl.quality.predict, env.action_costs, env.norm_costs, budgets)[0]
                 for d in test]
        plan_ms = (time.perf_counter() - t0) * 1e3 / sum(len(d.turns) for d in test)
        orc = summarise([run_episode(env, FixedSequence(p), i, budgets) for i, p in enumerate(plans)])
        orc.update(decide_ms_p50=plan_ms, decide_ms_p99=plan_ms, oracle_share=1.0)
        out.setdefault(ORACLE, {})[scale] = orc
        for name, make in policies.items():
            pol = make()
            eps = [run_episode(env, pol, i, budgets) for i in range(len(test))]
            out.setdefault(name, {})[scale] = summarise(eps, orc["reward_paper"])
    return out


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


def sweep_table(agg: dict, scales: list[float], train_range: tuple[float, float],
                reward: str = "reward_paper", budgets: str = "30 s, $0.05") -> str:
    """Reward and over-budget share per policy across budget scales; * marks unseen scales."""
    label = f"budget ×({budgets})"
    width = max(24, len(label) + 2)
    head = f"{label:<{width}}" + "".join(
        f"{s:>10g}{'' if train_range[0] <= s <= train_range[1] else '*':1}" for s in scales)
    rows = [head]
    for name, by in agg.items():
        rows.append(f"{name + ' reward':<{width}}"
                    + "".join(f"{by[s][reward]['mean']:>11.3f}" for s in scales))
        rows.append(f"{'   over-budget share':<{width}}"
                    + "".join(f"{by[s]['over_budget_share']['mean']:>11.2f}" for s in scales))
    rows.append("* budget scale never seen while training LCIO's multipliers")
    return "\n".join(rows)


def targets(agg: dict, nominal: float) -> dict:
    lcio, paper, orc = agg[LCIO], agg.get(PAPER), agg[ORACLE]
    out = {
        "lcio_zero_violations_all_budgets": all(v["over_budget_share"]["mean"] == 0 for v in lcio.values()),
        "lcio_oracle_share": lcio[nominal]["reward_paper"]["mean"] / orc[nominal]["reward_paper"]["mean"],
        "lcio_decide_ms_p99": max(v["decide_ms_p99"]["mean"] for v in lcio.values()),
    }
    if paper:
        out["lcio_vs_paper_relative_gain"] = (lcio[nominal]["reward_paper"]["mean"]
                                              / paper[nominal]["reward_paper"]["mean"] - 1)
    out["met"] = {"zero_violations": out["lcio_zero_violations_all_budgets"],
                  "oracle_share>=0.95": out["lcio_oracle_share"] >= 0.95,
                  "decide_p99<1ms": out["lcio_decide_ms_p99"] < 1.0}
    if paper:
        out["met"]["gain_vs_paper>=10%"] = out["lcio_vs_paper_relative_gain"] >= 0.10
    return out


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


def _bench_dataset(argv: list[str] | None) -> bool:
    """True when `--dataset` names an LCIO-Bench file (then `policies.bench_eval` runs)."""
    from policies.bench.dataset import is_bench_file

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--dataset", default=str(DEFAULT_DATASET))
    known, _ = pre.parse_known_args(argv)
    return is_bench_file(known.dataset)


def main(argv: list[str] | None = None) -> dict:
    if _bench_dataset(argv):  # every outcome measured: no k-NN simulator (policies/bench_eval.py)
        from policies.bench_eval import evaluate_main

        return evaluate_main(argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="runs/eval")
    ap.add_argument("--epochs", type=int, default=RCRLConfig.epochs, help="RCRL dual-ascent epochs")
    ap.add_argument("--a2c-steps", type=int, default=30_000, help="paper recipe steps (0 skips it)")
    ap.add_argument("--sweep", type=lambda s: [float(x) for x in s.split(",")],
                    default=[0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0], help="budget scales")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if 1.0 not in args.sweep:
        args.sweep = sorted([*args.sweep, 1.0])
    out = Path(args.out)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    dialogues = load_dialogues(args.dataset)
    per_seed = [evaluate_seed(dialogues, s, args, cache) for s in tqdm(range(args.seeds), desc="seeds")]
    agg = aggregate(per_seed)
    res = {"config": {"dataset": str(args.dataset), "seeds": args.seeds, "budgets": PAPER_BUDGETS,
                      "sweep_scales": args.sweep, "rcrl_training_scale_range": list(RCRLConfig().scale_range),
                      "rcrl_epochs": args.epochs, "a2c_steps": args.a2c_steps,
                      "reward_paper": "per-turn 1·q + 1/3·assoc − 1/3·lat − 1/3·usd (normalised), "
                                      "mean per dialogue, turns after overspending count 0",
                      "reward_plain": "per-turn q − 0.02/s − 20/$, mean per dialogue"},
           "policies": {n: {m: v for m, v in by[1.0].items()} for n, by in agg.items()},
           "sweep": {n: {str(s): v for s, v in by.items()} for n, by in agg.items()},
           "targets": targets(agg, 1.0)}
    (out / "results.json").write_text(json.dumps(res, indent=1, default=float))
    plots(agg, args.sweep, 1.0, out / "results.html")
    print(f"\nM4A1, budgets 30 s / $0.05, {args.seeds} seeds (mean ± std over seeds)\n")
    print(table(agg, 1.0))
    print("\nBudget sweep (paper reward; share of dialogues over any budget)\n")
    print(sweep_table(agg, args.sweep, RCRLConfig().scale_range))
    print("\nTargets:", json.dumps(res["targets"], indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
