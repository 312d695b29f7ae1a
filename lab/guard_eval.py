"""How often the budget guard refuses, cuts and overspends on LCIO-Bench, per budget scale.

    python -m lab.guard_eval --dataset assets/bench/lcio-bench-v1.jsonl --seeds 3 \
        [--quantile 0.8] [--no-pacing] [--scales 0.1,0.25,0.35,0.5,1,3] [--out FILE.json]

Protocol of `lab.evaluate` (seed s: the 80/20 split by dialogue, LCIO's planner trained on
the 80 % under this quantile, with pacing; played on the held-out 20 % with measured outcomes,
budgets = the nominal ones × scale). Per scale and policy (LCIO and greedy, the two guarded
ones): share of turns refused (no action admitted), share of turns cut (admitted, but the
measured cost passed what was left: stopped where the budget ran out, quality 0), share of
dialogues that overspent any budget, and the reward (mean per turn, as `lab.evaluate`).
Mean over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from lab.bench_eval import scaled
from policies.base import Policy
from policies.bench.baselines import BenchGreedy
from policies.bench.dataset import complete_dialogues, split
from policies.bench.env import BenchEnv, BenchEnvConfig
from policies.bench.planner import BenchPlanner, BenchPlannerConfig
from policies.guard import QUANTILE_ENV, guard_quantile

SCALES = [0.1, 0.25, 0.35, 0.5, 1.0, 3.0]


def play(env: BenchEnv, policy: Policy, budgets: dict[str, float]) -> dict[str, float]:
    """Every dialogue of `env` once under `budgets`; the shares and the reward."""
    turns = refused = cut = over = 0
    rewards = []
    for i in range(len(env.dialogues)):
        obs, _ = env.reset(options={"dialogue": i, "budgets": budgets})
        policy.reset()
        done, ep, spent_over = False, [], False
        while not done:
            mask = env.action_masks()
            action = policy.decide(obs, mask).action if mask.any() else -1
            obs, _, done, _, info = env.step(action)
            ep.append(0.0 if spent_over else info["reward_plain"])
            spent_over = spent_over or info["over_budget"]
            turns += 1
            refused += info["refused"]
            cut += info.get("cut", False)
        over += spent_over
        rewards.append(float(np.mean(ep)))
    return {"refused_share": refused / turns, "cut_share": cut / turns,
            "overspend_share": over / len(env.dialogues), "reward": float(np.mean(rewards))}


def run(dataset: str, seeds: int, scales: list[float], quantile: float | None,
        pacing: bool) -> dict[str, dict[str, dict[str, float]]]:
    """{policy: {scale: {metric: mean over seeds}}}."""
    if quantile is not None:  # LCIO's multipliers are trained under the same guard
        os.environ[QUANTILE_ENV] = str(guard_quantile(quantile))
    dialogues = complete_dialogues(dataset)
    per_seed: list[dict[str, dict[str, dict[str, float]]]] = []
    for seed in range(seeds):
        train, test = split(dialogues, seed)
        planner, _ = BenchPlanner.train(train, BenchPlannerConfig(seed=seed), progress=False)
        env = BenchEnv(test, planner.classifier, planner.outcomes,
                       BenchEnvConfig(quantile=quantile, pacing=pacing))
        policies: dict[str, Policy] = {"lcio-lookahead": planner, "greedy": BenchGreedy(planner.outcomes)}
        per_seed.append({name: {str(s): play(env, pol, scaled(s)) for s in scales}
                         for name, pol in policies.items()})
    return {name: {s: {m: float(np.mean([r[name][s][m] for r in per_seed])) for m in per_seed[0][name][s]}
                   for s in per_seed[0][name]} for name in per_seed[0]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quantile", type=float, default=None, help="default: LCIO_GUARD_QUANTILE or 0.8")
    ap.add_argument("--no-pacing", action="store_true")
    ap.add_argument("--scales", type=lambda s: [float(x) for x in s.split(",")], default=list(SCALES))
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    res = run(args.dataset, args.seeds, args.scales, args.quantile, not args.no_pacing)
    print(f"{'policy':<10} {'scale':>5} {'refused':>8} {'cut':>6} {'overspent':>9} {'reward':>7}")
    for name, by in res.items():
        for s, m in by.items():
            print(f"{name:<10} {s:>5} {m['refused_share']:>8.1%} {m['cut_share']:>6.1%} "
                  f"{m['overspend_share']:>9.1%} {m['reward']:>7.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
