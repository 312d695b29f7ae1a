"""How much the paper's RL recipe moves with its training seed alone, on the paper's splits.

    python -m lab.m4a1.recipe_spread --dataset ../shared/data/m4a1/M4A1.json --algorithm a2c \
        --train-seeds 4 --out runs/spread

Why: the paper's code seeds Python's and NumPy's generators with the split seed and leaves
torch unseeded, so its A2C figure (0.972 on seeds 1–3) is one draw of the network's
initialisation and of the training stream; `lab.evaluate` trains one model per split (seeded
with the split seed). Per split s (`paper_split`), this trains the recipe `--train-seeds` times
(training seeds s, s + 100, s + 200, ...; the first is the model `lab.evaluate` trains) in the
same environment and evaluates each on the held-out dialogues at the paper's budgets. The
environment is the paper's own, step for step (`lab.m4a1.paper_env_check`): what
moves is the seed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split, summarise_paper
from lab.m4a1.recipes import ALGORITHMS, PAPER_STEPS, PaperRecipe
from policies.m4a1.data import load_dialogues
from policies.profiles import PAPER_BUDGETS

SEED_STRIDE = 100  # training seeds of split s: s, s + 100, s + 200, ...


def training_seeds(split_seed: int, n: int) -> list[int]:
    """The training seeds used on a split; the first is the split seed (as `lab.evaluate`)."""
    return [split_seed + SEED_STRIDE * j for j in range(n)]


def spread(dataset: str, algorithm: str, n_train: int, steps: int, cache: Path,
           splits: tuple[int, ...] = PAPER_SEEDS) -> list[dict]:
    """One row per (split, training seed): reward, cloud share and seconds at the paper's budgets."""
    dialogues = load_dialogues(dataset)
    rows = []
    for split in splits:
        train, test, _ = paper_split(dialogues, split)
        simulator = PaperSimulator(train)
        evaluator = PaperEvaluator(test, simulator)
        for seed in training_seeds(split, n_train):
            t0 = time.perf_counter()
            recipe = PaperRecipe.train(train, simulator, seed, algorithm, steps,
                                       cache / f"paper_{algorithm}_seed{seed}_{steps}.zip")
            episodes = [evaluator.play(recipe, d, PAPER_BUDGETS) for d in test]
            m = summarise_paper(episodes, PAPER_BUDGETS)
            rows.append({"split": split, "train_seed": seed, "reward": m["reward"],
                         "cloud_share": m["cloud_share"], "latency_s": m["latency_s"],
                         "over_budget_share": m["over_budget_share"],
                         "seconds": time.perf_counter() - t0})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict], algorithm: str, published: float | None) -> str:
    """Per split and training seed, then the mean over splits of each training-seed column."""
    splits = sorted({r["split"] for r in rows})
    n = max(sum(r["split"] == s for r in rows) for s in splits)
    head = "| split | " + " | ".join(f"training seed #{j + 1}" for j in range(n)) + " | split mean |"
    lines = [head, "|" + "---|" * (n + 2)]
    for s in splits:
        vals = [r["reward"] for r in rows if r["split"] == s]
        cells = [f"{r['reward']:.3f} ({r['cloud_share']:.0%} cloud)" for r in rows if r["split"] == s]
        lines.append(f"| {s} | " + " | ".join(cells) + f" | {np.mean(vals):.3f} |")
    per_split = {s: [r["reward"] for r in rows if r["split"] == s] for s in splits}
    by_draw = [float(np.mean([v[j] for v in per_split.values() if j < len(v)])) for j in range(n)]
    lines.append("| mean of splits 1–3 | " + " | ".join(f"{v:.3f}" for v in by_draw) +
                 f" | {np.mean([r['reward'] for r in rows]):.3f} |")
    rewards = np.array([r["reward"] for r in rows])
    lines.append("")
    lines.append(f"{algorithm.upper()}: {len(rows)} runs, reward {rewards.mean():.3f} ± "
                 f"{rewards.std():.3f} (min {rewards.min():.3f}, max {rewards.max():.3f}); "
                 f"three-split means from {min(by_draw):.3f} to {max(by_draw):.3f}"
                 + (f"; published {published:.3f}" if published is not None else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--algorithm", choices=ALGORITHMS, default="a2c")
    ap.add_argument("--train-seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=PAPER_STEPS)
    ap.add_argument("--published", type=float, default=0.972,
                    help="the paper's code's figure on the same splits, printed beside ours")
    ap.add_argument("--out", default="runs/spread")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    (out / "cache").mkdir(parents=True, exist_ok=True)
    rows = spread(args.dataset, args.algorithm, args.train_seeds, args.steps, out / "cache")
    text = markdown(rows, args.algorithm, args.published)
    (out / f"spread_{args.algorithm}.json").write_text(json.dumps(rows, indent=1))
    (out / f"spread_{args.algorithm}.md").write_text(text + "\n")
    print(text)
    return rows


if __name__ == "__main__":
    main()
