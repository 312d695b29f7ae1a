"""M4A1 under LCIO's earlier protocol (kept for comparison with earlier reports): numpy splits
with seeds 0..n-1, the env's k-NN shared with the planner, turns after overspending count 0.

    python -m lab.evaluate --protocol lcio --dataset ../shared/data/m4a1/M4A1.json

Its figures are not comparable with the paper's; `lab.m4a1.runner` is (the default).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm.auto import tqdm

from lab.m4a1.oracle import best_sequence
from lab.m4a1.rollout import run_episode, summarise
from lab.report import aggregate, plots, prepare_run, sweep_table, table
from policies.m4a1.baselines import (
    RCA2C,
    CloudOnly,
    FixedSequence,
    GreedyOneStep,
    LocalOnly,
    RandomPolicy,
)
from policies.m4a1.data import load_dialogues, split_dialogues
from policies.m4a1.env import PAPER_BUDGETS, EnvConfig, OffloadEnv
from policies.m4a1.rcrl import RCRLConfig, RCRLPolicy, train_rcrl

ORACLE = "oracle (hindsight)"
LCIO = "lcio-rcrl"
PAPER = "rc-a2c (paper)"


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
        rcrl.save(rcrl_path, command=f"python -m lab.evaluate (seed {seed}, train split)")
    env = OffloadEnv(test, rcrl.quality, EnvConfig())  # the paper's simulator: k-NN on the train split
    policies = {
        "local-only": lambda: LocalOnly(), "cloud-only": lambda: CloudOnly(seed=seed),
        "random": lambda: RandomPolicy(seed=seed),
        "greedy": lambda: GreedyOneStep(train, env.costs_table),
        LCIO: lambda: rcrl,
    }
    if args.rl_steps > 0:
        a2c = RCA2C.train(train, seed, args.rl_steps, cache / f"rc_a2c_seed{seed}_{args.rl_steps}.zip")
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


def main(args) -> dict:
    """The LCIO protocol (numpy splits, seeds 0..n-1, turns after overspending count 0)."""
    cache = prepare_run(args)
    out = Path(args.out)
    dialogues = load_dialogues(args.dataset)
    per_seed = [evaluate_seed(dialogues, s, args, cache) for s in tqdm(range(args.seeds), desc="seeds")]
    agg = aggregate(per_seed)
    res = {"config": {"dataset": str(args.dataset), "seeds": args.seeds, "budgets": PAPER_BUDGETS,
                      "sweep_scales": args.sweep, "rcrl_training_scale_range": list(RCRLConfig().scale_range),
                      "rcrl_epochs": args.epochs, "a2c_steps": args.rl_steps,
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
