"""Train and evaluate every policy on LCIO-Bench (`--dataset` pointing at a bench .jsonl).

    python -m lab.evaluate --dataset assets/bench/lcio-bench-v2.jsonl --seeds 3 --out runs/eval-bench
    python -m lab.train --dataset assets/bench/lcio-bench-v2.jsonl --split all \
        --out assets/policy/rcrl-bench.json

Both commands detect the bench file (`is_bench_file`) and come here. Protocol as for M4A1:
seed s picks the 80/20 split by dialogue, trains LCIO's planner (classifier, prompt-aware quality
model, outcome model and multipliers on the 80 %), the RouteLLM-style router and the cascade
(`policies.bench.routers`), RC-A2C and RC-PPO, seeds the random baselines; every policy then
plays the held-out 20 % with measured outcomes, at the nominal budgets and at every budget
scale of the sweep (0.1, 0.25, 2 and 3 were never seen while training the multipliers). The
oracle plans each dialogue in hindsight on the measured outcomes. The quality-vs-cost curves
and the targets come from `lab.bench_curves` and `lab.bench_targets`;
`python -m lab.bench_readme OUT/results.json --write` renders the README tables.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lab.bench.lcio_cascade import BenchLCIOCascade, CascadeValue
from lab.bench.oracle import Planned, oracle_plan
from lab.bench_curves import cheap_and_good, curves, figure, mean_curves
from lab.bench_targets import targets
from lab.report import aggregate, plots, prepare_run, sweep_table, table
from policies import roster
from policies.base import Policy
from policies.bench.dataset import BenchTurn, complete_dialogues, load_bench, split
from policies.bench.prompt_quality import turn_observations
from policies.bench.recipes import BenchRCPPO
from policies.bench.routers import BenchCascade, BenchRouter
from policies.bench_policy import (
    BENCH_BUDGETS,
    BENCH_SPACE,
    RESOURCES,
    BenchEnv,
    BenchEnvConfig,
    BenchPlanner,
    BenchPlannerConfig,
    BenchRCA2C,
)
from policies.roster import Kit

ORACLE, LCIO, PAPER, PPO = "oracle (hindsight)", "lcio-lookahead", "rc-a2c (paper)", "rc-ppo (paper)"
ROUTER, CASCADE = BenchRouter.name, BenchCascade.name
LCIO_TABLE = "lcio, task-class quality"  # ablation: the quality table of the task class only
LCIO_NO_LAMBDA = "lcio, λ = 0"  # ablation: no budget prices, only the guard
COLUMNS = ["reward", "quality", "usd", "latency_s", "energy_j", "over_budget_share",
           "refused_share", "cut_share", "cloud_share", "oracle_share", "decide_ms_p50",
           "decide_ms_p99"]
SWEEP = [0.1, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]


def scaled(scale: float, nominal: dict[str, float] | None = None) -> dict[str, float]:
    return {r: v * scale for r, v in (nominal or BENCH_BUDGETS).items()}


@dataclass
class Episode:
    rewards: list[float] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    over_after: list[bool] = field(default_factory=list)
    refused: list[bool] = field(default_factory=list)
    cut: list[bool] = field(default_factory=list)  # stopped where a budget ran out (`BenchEnv`)
    spent: dict[str, float] = field(default_factory=lambda: {r: 0.0 for r in RESOURCES})
    overspend: dict[str, float] = field(default_factory=dict)
    cloud_calls: int = 0
    decide_s: list[float] = field(default_factory=list)  # wall clock
    decide_cpu_s: list[float] = field(default_factory=list)  # this thread's CPU time

    @property
    def reward(self) -> float:
        """Mean plain reward per turn; turns after any budget was exceeded count 0."""
        return float(np.mean([0.0 if o else r for r, o in zip(self.rewards, self.over_after, strict=False)]))


def run_episode(env: BenchEnv, policy: Policy, dialogue: int, budgets: dict[str, float]) -> Episode:
    """One dialogue. Guarded policies get the worst-case guard (and are refused a turn where
    nothing fits); the others may overspend, which the table counts as a violation."""
    env.cfg.guard = policy.uses_guard
    env.escalate = getattr(policy, "escalate", None)  # a cascade's own test of the local answer
    obs, _ = env.reset(options={"dialogue": dialogue, "budgets": budgets})
    policy.reset()
    ep, done = Episode(), False
    while not done:
        mask = env.action_masks()
        t0, c0 = time.perf_counter(), time.thread_time()
        action = policy.decide(obs, mask).action if mask.any() else -1
        ep.decide_cpu_s.append(time.thread_time() - c0)
        ep.decide_s.append(time.perf_counter() - t0)
        obs, _, done, _, info = env.step(action)
        ep.rewards.append(info["reward_plain"])
        ep.qualities.append(info["quality"])
        ep.over_after.append(info["over_budget"])
        ep.refused.append(info["refused"])
        ep.cut.append(info["cut"])
        for r in RESOURCES:
            ep.spent[r] += info["costs"][r]
        ep.cloud_calls += int(not info["refused"] and env.space.actions[info["action"]].location == "cloud")
        ep.overspend = info["overspend"]
    return ep


def summarise(eps: list[Episode], oracle_reward: float | None = None) -> dict[str, float]:
    turns = sum(len(e.rewards) for e in eps)
    times = np.concatenate([e.decide_s for e in eps]) * 1e3
    out = {
        "reward": float(np.mean([e.reward for e in eps])),
        "quality": float(np.mean([np.mean(e.qualities) for e in eps])),
        **{r: float(np.mean([e.spent[r] for e in eps])) for r in RESOURCES},
        "over_budget_share": float(np.mean([any(v > 1e-12 for v in e.overspend.values()) for e in eps])),
        **{f"overspend_{r}": float(np.mean([e.overspend.get(r, 0.0) for e in eps])) for r in RESOURCES},
        "refused_share": float(sum(sum(e.refused) for e in eps) / max(turns, 1)),
        "cut_share": float(sum(sum(e.cut) for e in eps) / max(turns, 1)),
        "cloud_share": float(sum(e.cloud_calls for e in eps) / max(turns, 1)),
        "decide_ms_p50": float(np.percentile(times, 50)),
        "decide_ms_p99": float(np.percentile(times, 99)),
        "decide_cpu_ms_p99": float(np.percentile(np.concatenate([e.decide_cpu_s for e in eps]) * 1e3, 99)),
    }
    if oracle_reward:
        out["oracle_share"] = out["reward"] / oracle_reward
    return out


def observe_decide_ms_p99(policy: BenchPlanner, test: list[list[BenchTurn]],
                          repeats: int = 5) -> tuple[float, float]:
    """What the app pays per decision: the classifier + observation + decide, p99 in ms
    over `repeats` passes of the held-out turns (enough samples for a 99th percentile):
    (wall clock, this thread's CPU time). On a shared, loaded machine the wall clock's tail
    is the scheduler's time slices, not the policy's work; the CPU time is the latter."""
    times, cpu = [], []
    for d in [d for _ in range(repeats) for d in test]:
        for i, t in enumerate(d):
            t0, c0 = time.perf_counter(), time.thread_time()
            obs = policy.observe_turn(t.prompt, t.kinds, i, None, dict(BENCH_BUDGETS), BENCH_BUDGETS)
            policy.decide(obs, policy.space.mask_for(list(t.present)))
            cpu.append(time.thread_time() - c0)
            times.append(time.perf_counter() - t0)
    return (float(np.percentile(np.asarray(times) * 1e3, 99)),
            float(np.percentile(np.asarray(cpu) * 1e3, 99)))


def without_prompt_quality(policy: BenchPlanner) -> BenchPlanner:
    """The same trained policy with the task-class quality table instead of the prompt model."""
    import copy

    out = copy.copy(policy)
    out.quality_model = None
    return out


def without_multipliers(policy: BenchPlanner) -> BenchPlanner:
    """The same trained policy with every Lagrange multiplier 0 (the guard still applies)."""
    import copy

    out = copy.copy(policy)
    out.table = copy.deepcopy(policy.table)
    out.table.values = np.zeros_like(out.table.values)
    return out


def evaluate_seed(dialogues: list[list[BenchTurn]], seed: int, args: argparse.Namespace,
                  cache: Path) -> tuple[dict[str, dict[float, dict[str, float]]], tuple[float, float], dict]:
    """metrics[policy][budget scale] for one seed, LCIO's observe+decide p99 (ms; wall, CPU),
    and the quality-vs-cost curves at the nominal budgets."""
    train, test = split(dialogues, seed)
    path = cache / f"bench_lcio_seed{seed}_e{args.epochs}.json"
    if path.exists():
        planner = BenchPlanner.load(path)
    else:
        planner, _ = BenchPlanner.train(train, BenchPlannerConfig(seed=seed, epochs=args.epochs))
        planner.save(path, command=f"python -m lab.evaluate (bench, seed {seed}, train split)")
    env = BenchEnv(test, planner.classifier, planner.outcomes, BenchEnvConfig())
    kit = Kit("bench", BENCH_SPACE, seed=seed, lcio=planner, outcomes=planner.outcomes,
              training=turn_observations(train, planner.classifier))
    # The roster's baselines, rebuilt for each budget scale (a fresh random generator each time).
    policies: dict[str, Callable[[], Policy]] = {
        name: (lambda name=name: roster.build(name, kit)) for name in roster.names("bench", "baseline")}
    router, cascade = roster.build(ROUTER, kit), roster.build(CASCADE, kit)
    assert isinstance(router, BenchRouter) and isinstance(cascade, BenchCascade)
    train_obs, train_turns = kit.train_turns()
    lcio_cascade = BenchLCIOCascade(planner, CascadeValue.fit(train_obs, train_turns, cascade.weakness),
                                    cascade.weakness)
    policies.update({
        LCIO: lambda: planner,
        LCIO_TABLE: lambda: without_prompt_quality(planner),
        LCIO_NO_LAMBDA: lambda: without_multipliers(planner),
        BenchLCIOCascade.name: lambda: lcio_cascade,
    })
    if args.a2c_steps > 0:
        for label, recipe in ((PAPER, BenchRCA2C), (PPO, BenchRCPPO)):
            rl_env = BenchEnv(train, planner.classifier, planner.outcomes,
                              BenchEnvConfig(budget_sampling="paper", overspend="zero_reward", guard=False))
            name = f"bench_{recipe.algorithm.lower()}_seed{seed}_{args.a2c_steps}.zip"
            trained = recipe.train(rl_env, seed, args.a2c_steps, cache / name)
            policies[label] = lambda trained=trained: trained
    out: dict[str, dict[float, dict[str, float]]] = {}
    for scale in tqdm(args.sweep, desc=f"seed {seed} budgets", leave=False):
        budgets = scaled(scale)
        t0 = time.perf_counter()
        plans = [oracle_plan(d, budgets)[0] for d in test]
        plan_ms = (time.perf_counter() - t0) * 1e3 / sum(len(d) for d in test)
        orc = summarise([run_episode(env, Planned(p), i, budgets) for i, p in enumerate(plans)])
        orc.update(decide_ms_p50=plan_ms, decide_ms_p99=plan_ms, decide_cpu_ms_p99=plan_ms,
                   oracle_share=1.0)
        out.setdefault(ORACLE, {})[scale] = orc
        for name, make in policies.items():
            pol = make()
            eps = [run_episode(env, pol, i, budgets) for i in range(len(test))]
            out.setdefault(name, {})[scale] = summarise(eps, orc["reward"])
    nominal = scaled(1.0)

    def play(pol: Policy) -> dict[str, float]:
        return summarise([run_episode(env, pol, i, nominal) for i in range(len(test))])

    return out, observe_decide_ms_p99(planner, test), curves(planner, router, cascade, play)


def budget_label() -> str:
    b = BENCH_BUDGETS
    return f"{b['latency_s']:g} s, ${b['usd']:g}, {b['energy_j']:g} J"




def evaluate_main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="runs/eval-bench")
    ap.add_argument("--epochs", type=int, default=BenchPlannerConfig.epochs,
                    help="dual-ascent epochs of the planner's budget prices")
    ap.add_argument("--a2c-steps", "--rl-steps", dest="a2c_steps", type=int, default=10_000,
                    help="steps of each paper recipe, A2C and PPO (0 skips them; 10k keeps CPU time low)")
    ap.add_argument("--sweep", type=lambda s: [float(x) for x in s.split(",")], default=list(SWEEP))
    args = ap.parse_args(argv)
    cache = prepare_run(args)
    out = Path(args.out)
    dialogues = complete_dialogues(args.dataset)
    n_turns = sum(len(d) for d in dialogues)
    runs = [evaluate_seed(dialogues, s, args, cache) for s in tqdm(range(args.seeds), desc="seeds")]
    agg = aggregate([r[0] for r in runs])
    app_ms = (max(r[1][0] for r in runs), max(r[1][1] for r in runs))
    curve_means = mean_curves([r[2] for r in runs])
    train_range = BenchPlannerConfig().scale_range
    res = {"config": {"dataset": str(args.dataset), "dialogues": len(dialogues), "turns": n_turns,
                      "seeds": args.seeds, "budgets": BENCH_BUDGETS, "sweep_scales": args.sweep,
                      "rcrl_training_scale_range": list(train_range), "rcrl_epochs": args.epochs,
                      "a2c_steps": args.a2c_steps,
                      "reward": "per turn quality − 0.02·s − 20·$ (measured), mean per dialogue; "
                                "turns after any budget is exceeded count 0; refused turns 0"},
           "policies": {n: {m: v for m, v in by[1.0].items()} for n, by in agg.items()},
           "sweep": {n: {str(s): v for s, v in by.items()} for n, by in agg.items()},
           "curves": {"per_seed": [r[2] for r in runs], "mean": curve_means},
           "cheap_and_good": cheap_and_good(agg, curve_means, 1.0),
           "targets": targets(agg, 1.0, app_ms, ORACLE, LCIO)}
    plots(agg, args.sweep, 1.0, out / "results.html", reward="reward", budgets=budget_label(),
          title="LCIO policies on LCIO-Bench (held-out 20 %, measured outcomes)")
    res["figure"] = figure(agg, curve_means, args.sweep, out).name
    (out / "results.json").write_text(json.dumps(res, indent=1, default=float))
    print(f"\nLCIO-Bench ({len(dialogues)} dialogues, {n_turns} turns), budgets {budget_label()} "
          f"per dialogue, {args.seeds} seeds (mean ± std over seeds)\n")
    print(table(agg, 1.0, COLUMNS))
    print("\nBudget sweep (reward; share of dialogues over any budget)\n")
    print(sweep_table(agg, args.sweep, train_range, reward="reward", budgets=budget_label()))
    print("\nTargets:", json.dumps(res["targets"], indent=1, default=str))
    return res


def train_main(argv: list[str] | None = None) -> Path:
    """`python -m lab.train --dataset BENCH.jsonl`: the app's bench policy."""
    from policies.artifacts import APP_POLICY_PATH

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=BenchPlannerConfig.epochs)
    ap.add_argument("--split", choices=["all", "train"], default="all")
    ap.add_argument("--out", default=str(APP_POLICY_PATH))
    args = ap.parse_args(argv)
    dialogues = complete_dialogues(args.dataset)
    if args.split == "train":
        dialogues, _ = split(dialogues, args.seed)
    policy, log = BenchPlanner.train(dialogues, BenchPlannerConfig(seed=args.seed, epochs=args.epochs))
    argv = sys.argv[1:] if argv is None else argv
    command = "python -m lab.train " + " ".join(shlex.quote(a) for a in argv)
    bench = load_bench(args.dataset)
    from policies import local_identity
    from policies.cloud_identity import from_header

    calibrated_for = from_header(bench.header)
    local = local_identity.from_header(bench.header)
    if local is not None:
        calibrated_for["local"] = local
    policy.save(args.out, command=command, extra={
        "trained_on": {"dataset": Path(args.dataset).name, "dialogues": len(dialogues),
                       "turns": sum(len(d) for d in dialogues),
                       "bench_created_at": bench.header.get("measured", {}).get("created_at")},
        # the cloud (and local model) its estimates hold for (the page warns when another
        # is configured)
        "calibrated_for": calibrated_for})
    print(json.dumps({"saved": args.out, "dialogues": len(dialogues), "last_epoch": log[-1]}, indent=1))
    return Path(args.out)
