"""Learning curves on M4A1: LCIO and the paper's PPO recipe fitted on part of the training split.

    python -m lab.curves --dataset ../shared/data/m4a1/M4A1.json --out runs/curves

Why: a user who calibrates LCIO to their own cloud measures a sample of turns, not the whole
log. Per split seed s (the paper's splits, `lab.m4a1.protocol.paper_split`) and fraction f,
LCIO is fitted by its own code (`lab.m4a1.runner.lcio_policy`) on `--subsamples` random
subsets of f of the training dialogues, and PPO (the paper's recipe) on the first
`--ppo-subsamples` of them, its training environment judged by a simulator fitted on that
subset only (it sees no more data than LCIO). Every model plays the fixed held-out 20 % under
the paper's rules, judged by the simulator fitted on the whole training split, at the paper's
budgets. Rows are appended to OUT/curves.jsonl as they are measured, so a run that is stopped
resumes where it was; OUT/curves.md (table) and OUT/curves.svg (figure, and `--figure`) are
written at the end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split, summarise_paper
from lab.m4a1.recipes import PAPER_STEPS, PaperRecipe
from lab.m4a1.runner import lcio_path, lcio_policy
from lab.m4a1.subsets import subsample
from policies.base import Policy
from policies.m4a1.data import load_dialogues
from policies.profiles import PAPER_BUDGETS

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
# the targets on M4A1: at 25 % LCIO ≥ 0.95 of its full-data reward and ≥ 1.10× PPO on
# the full split; at 50 % ≥ 0.97 of its full-data reward
TARGETS = {0.25: (0.95, 1.10), 0.5: (0.97, None)}


def _done(path: Path) -> dict[tuple, dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return {(r["policy"], r["seed"], r["fraction"], r["subsample"]): r for r in rows}


def measure(args) -> list[dict]:
    """Every (policy, seed, fraction, subsample) row, measuring only those not yet in the log."""
    out = Path(args.out)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    log = out / "curves.jsonl"
    done = _done(log)
    dialogues = load_dialogues(args.dataset)
    splits = {s: paper_split(dialogues, s) for s in args.seeds}
    judges = {s: PaperEvaluator(test, PaperSimulator(train)) for s, (train, test, _) in splits.items()}

    def run(policy_name: str, seed: int, fraction: float, j: int, make) -> None:
        if (policy_name, seed, fraction, j) in done:
            return
        train, test, _ = splits[seed]
        sub = subsample(train, fraction, seed, j)
        t0 = time.perf_counter()
        policy: Policy = make(sub, train)
        fit_s = time.perf_counter() - t0
        m = summarise_paper([judges[seed].play(policy, d, PAPER_BUDGETS) for d in test], PAPER_BUDGETS)
        row = {"policy": policy_name, "seed": seed, "fraction": fraction, "subsample": j,
               "train_dialogues": len(sub), "reward": m["reward"], "quality": m["quality"],
               "cloud_share": m["cloud_share"], "over_budget_share": m["over_budget_share"],
               "fit_s": fit_s}
        done[(policy_name, seed, fraction, j)] = row
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    def lcio(seed: int, fraction: float, j: int):
        def make(sub, train):
            path = (lcio_path(cache, seed) if fraction >= 1.0
                    else cache / f"curve_lcio_v4_seed{seed}_f{fraction:g}_sub{j}.json")
            return lcio_policy(sub, seed, path)
        return make

    def ppo(seed: int, fraction: float, j: int):
        def make(sub, train):
            path = (cache / f"paper_ppo_seed{seed}_{args.rl_steps}.zip" if fraction >= 1.0
                    else cache / f"curve_ppo_seed{seed}_f{fraction:g}_sub{j}_{args.rl_steps}.zip")
            return PaperRecipe.train(sub, PaperSimulator(sub), seed, "ppo", args.rl_steps, path)
        return make

    # LCIO first (cheap), then PPO; whole fractions at a time, the targets' fractions first:
    # a run stopped early still has whole rows
    order = sorted(args.fractions, key=lambda f: (f not in (1.0, *TARGETS), -f))
    for fraction in order:
        for seed in args.seeds:
            for j in range(1 if fraction >= 1.0 else args.subsamples):
                run("lcio", seed, fraction, j, lcio(seed, fraction, j))
    for fraction in order if args.rl_steps > 0 else ():
        for seed in args.seeds:
            for j in range(1 if fraction >= 1.0 else args.ppo_subsamples):
                run("ppo", seed, fraction, j, ppo(seed, fraction, j))
    return list(done.values())


def summarise(rows: list[dict]) -> dict:
    """{policy: {fraction: {"per_seed": {seed: [rewards over subsamples]}, "mean": ...}}}: the
    mean over seeds of each seed's mean over its subsamples."""
    out: dict = {}
    for r in rows:
        cell = out.setdefault(r["policy"], {}).setdefault(r["fraction"], {"per_seed": {}})
        cell["per_seed"].setdefault(r["seed"], []).append(r["reward"])
    for by_f in out.values():
        for cell in by_f.values():
            seed_means = [float(np.mean(v)) for v in cell["per_seed"].values()]
            cell["mean"] = float(np.mean(seed_means))
            cell["std_over_seeds"] = float(np.std(seed_means))
            cell["runs"] = sum(len(v) for v in cell["per_seed"].values())
    return out


def targets(summary: dict) -> dict:
    """The issue's M4A1 targets, each with the figures that decide it."""
    lcio, ppo = summary.get("lcio", {}), summary.get("ppo", {})
    full = lcio.get(1.0, {}).get("mean")
    ppo_full = ppo.get(1.0, {}).get("mean")
    out = {}
    for f, (own, vs_ppo) in TARGETS.items():
        if f not in lcio or full is None:
            continue
        share = lcio[f]["mean"] / full
        out[f"{f:g}: lcio >= {own} x own full-data reward"] = {
            "lcio": lcio[f]["mean"], "full": full, "share": share, "met": share >= own}
        if vs_ppo is not None and ppo_full is not None:
            ratio = lcio[f]["mean"] / ppo_full
            out[f"{f:g}: lcio >= {vs_ppo} x ppo on the full split"] = {
                "lcio": lcio[f]["mean"], "ppo_full": ppo_full, "ratio": ratio, "met": ratio >= vs_ppo}
    return out


def markdown(summary: dict, seeds: list[int]) -> str:
    """One row per (policy, fraction): per-seed rewards (each the mean over its subsamples, the
    subsamples in brackets), the mean over seeds, and LCIO's share of its own full-data reward."""
    full = summary.get("lcio", {}).get(1.0, {}).get("mean")
    lines = ["| policy | training share | " + " | ".join(f"seed {s}" for s in seeds)
             + " | mean | runs | of LCIO's full-data reward |", "|" + "---|" * (len(seeds) + 5)]
    for name, by_f in summary.items():
        for f in sorted(by_f):
            cell = by_f[f]
            seed_cells = []
            for s in seeds:
                v = cell["per_seed"].get(s, [])
                inner = f" ({' / '.join(f'{x:.3f}' for x in v)})" if len(v) > 1 else ""
                seed_cells.append(f"{np.mean(v):.3f}{inner}" if v else "—")
            share = f"{cell['mean'] / full:.2f}" if full else "—"
            lines.append(f"| {name} | {f:.0%} | " + " | ".join(seed_cells)
                         + f" | {cell['mean']:.3f} | {cell['runs']} | {share} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", default="runs/curves")
    ap.add_argument("--fractions", type=lambda t: [float(x) for x in t.split(",")], default=list(FRACTIONS))
    ap.add_argument("--seeds", type=lambda t: [int(x) for x in t.split(",")], default=list(PAPER_SEEDS))
    ap.add_argument("--subsamples", type=int, default=2, help="random subsets per fraction for LCIO")
    ap.add_argument("--ppo-subsamples", type=int, default=1, help="of those, how many PPO is trained on")
    ap.add_argument("--rl-steps", type=int, default=PAPER_STEPS, help="PPO steps; 0 skips PPO")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: the table and figure from the rows OUT/curves.jsonl holds")
    ap.add_argument("--figure", help="also write the figure here (policies/figures/...svg)")
    args = ap.parse_args(argv)
    import torch

    from lab.curves_svg import curves_svg

    torch.set_num_threads(1)
    rows = list(_done(Path(args.out) / "curves.jsonl").values()) if args.report_only else measure(args)
    summary = summarise(rows)
    res = {"config": {k: v for k, v in vars(args).items()}, "rows": rows,
           "summary": {n: {str(f): c for f, c in by.items()} for n, by in summary.items()},
           "targets": targets(summary)}
    out = Path(args.out)
    (out / "curves.json").write_text(json.dumps(res, indent=1, default=str))
    table = markdown(summary, args.seeds)
    (out / "curves.md").write_text(table + "\n")
    (out / "curves.svg").write_text(curves_svg(summary))
    if args.figure:
        Path(args.figure).write_text(curves_svg(summary))
    print(table)
    print("\nTargets:", json.dumps(res["targets"], indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
