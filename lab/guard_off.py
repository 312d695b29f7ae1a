"""Does LCIO keep its budgets by itself? Its policy played with the hard guard off.

    python -m lab.guard_off --dataset ../shared/data/m4a1/M4A1.json --seeds 3 --cache runs/eval/cache
    python -m lab.guard_off --dataset assets/bench/lcio-bench-v2.jsonl --seeds 3 \
        --cache runs/eval-bench-v2/cache

The protocol of `lab.evaluate` (M4A1: the paper's splits, seeds 1–3, its judge; bench: the
80/20 split, seeds 0–2, measured outcomes), LCIO trained on the training split (read from
`--cache` when `lab.evaluate` left it there). Per budget scale: the share of held-out
dialogues that end over any budget when nothing but the policy's own prices and look-ahead
stands between it and its budgets (guard off: the policy's `decide(..., guard=False)`, no mask
but the attachments present, no cut), on the bench the same with its budget prices set to 0
(M4A1's planner has none), and the reward with the guard on (what the app plays). Mean over
seeds.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from policies.base import Decision, Policy

SCALES = (0.25, 0.35, 0.5, 1.0)


class Unguarded(Policy):
    """`inner` deciding with its own guard off and asking the caller for none: what its
    prices and look-ahead do alone."""

    uses_guard = False

    def __init__(self, inner: Policy):
        self.inner, self.space, self.name = inner, inner.space, f"{inner.name} (guard off)"

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        return self.inner.decide(observation, mask, guard=False)  # type: ignore[call-arg]

    def reset(self) -> None:
        self.inner.reset()


def zero_multipliers(policy: Policy) -> Policy:
    """The same trained policy with every multiplier 0."""
    out = copy.copy(policy)
    out.table = copy.deepcopy(policy.table)  # type: ignore[attr-defined]
    out.table.values = np.zeros_like(out.table.values)  # type: ignore[attr-defined]
    return out


def variants(lcio: Policy) -> dict[str, Policy]:
    out = {"guard off": Unguarded(lcio)}
    if hasattr(lcio, "table"):  # the bench planner's budget prices
        out["guard off, λ = 0"] = Unguarded(zero_multipliers(lcio))
    return {**out, "guard on": lcio}


def m4a1_seed(dataset: str, seed: int, scales: tuple[float, ...], cache: Path, epochs: int
              ) -> dict[str, dict[float, dict[str, float]]]:
    """`epochs` is the bench's: M4A1's planner has nothing trained by epochs."""
    from lab.m4a1.protocol import PaperEvaluator, PaperSimulator, paper_split, summarise_paper
    from lab.m4a1.runner import lcio_path, lcio_policy, scaled
    from policies.m4a1.data import load_dialogues

    train, test, _ = paper_split(load_dialogues(dataset), seed)
    evaluator = PaperEvaluator(test, PaperSimulator(train))
    lcio = lcio_policy(train, seed, lcio_path(cache, seed))
    return {name: {s: summarise_paper([evaluator.play(pol, d, scaled(s)) for d in test], scaled(s))
                   for s in scales} for name, pol in variants(lcio).items()}


def bench_seed(dataset: str, seed: int, scales: tuple[float, ...], cache: Path, epochs: int
               ) -> dict[str, dict[float, dict[str, float]]]:
    from lab.bench_eval import run_episode, scaled, summarise
    from policies.bench.dataset import complete_dialogues, split
    from policies.bench.env import BenchEnv, BenchEnvConfig
    from policies.bench.planner import BenchPlanner, BenchPlannerConfig

    train, test = split(complete_dialogues(dataset), seed)
    path = cache / f"bench_lcio_seed{seed}_e{epochs}.json"
    if path.exists():
        lcio = BenchPlanner.load(path)
    else:
        lcio, _ = BenchPlanner.train(train, BenchPlannerConfig(seed=seed, epochs=epochs), progress=False)
        lcio.save(path, command=f"python -m lab.guard_off (bench, seed {seed}, train split)")
    env = BenchEnv(test, lcio.classifier, lcio.outcomes, BenchEnvConfig())
    return {name: {s: summarise([run_episode(env, pol, i, scaled(s)) for i in range(len(test))])
                   for s in scales} for name, pol in variants(lcio).items()}


def run(dataset: str, seeds: int, scales: tuple[float, ...], cache: Path, epochs: int | None = None
        ) -> dict[str, dict[str, dict[str, float]]]:
    """{variant: {scale: {"over_budget_share", "reward"}}}, mean over seeds."""
    from policies.bench.dataset import is_bench_file

    bench = is_bench_file(dataset)
    play: Callable[..., dict] = bench_seed if bench else m4a1_seed
    seed_ids = list(range(seeds)) if bench else list(range(1, seeds + 1))
    if epochs is None:
        from policies.bench.planner import BenchPlannerConfig
        epochs = BenchPlannerConfig.epochs
    cache.mkdir(parents=True, exist_ok=True)
    per_seed = [play(dataset, s, scales, cache, epochs) for s in seed_ids]
    return {v: {str(s): {m: float(np.mean([r[v][s][m] for r in per_seed]))
                         for m in ("over_budget_share", "reward")} for s in scales}
            for v in per_seed[0]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--scales", type=lambda s: tuple(float(x) for x in s.split(",")), default=SCALES)
    ap.add_argument("--cache", type=Path, default=Path("runs/guard-off/cache"))
    ap.add_argument("--epochs", type=int, default=None, 
                    help="bench: the dual-ascent epochs of its budget prices")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    res = run(args.dataset, args.seeds, args.scales, args.cache, args.epochs)
    print(f"{'variant':<18} {'scale':>5} {'over budget':>11} {'reward':>7}")
    for name, by in res.items():
        for s, m in by.items():
            print(f"{name:<18} {s:>5} {m['over_budget_share']:>11.1%} {m['reward']:>7.4f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
