"""How long LCIO takes to decide on M4A1's held-out turns: wall clock and CPU time, with the
look-ahead caches cold (first pass) and warm (second pass over the same dialogues).

    python -m policies.m4a1.latency --out runs/eval

Wall clock includes waiting for a core (the figure that matters under load); thread CPU time
is the work itself. Uses the policies `python -m policies.evaluate` cached under OUT/cache.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from policies.m4a1.data import load_dialogues
from policies.m4a1.protocol import PAPER_BUDGETS, PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split
from policies.m4a1.runner import lcio_path, lcio_policy
from policies.registry import DEFAULT_DATASET


class _Timed:
    """Wraps a policy; records wall and thread CPU time of each `decide`."""

    def __init__(self, policy):
        self.policy, self.wall, self.cpu = policy, [], []
        self.uses_guard, self.space = policy.uses_guard, policy.space

    def reset(self) -> None:
        self.policy.reset()

    def decide(self, observation, mask):
        w, c = time.perf_counter(), time.thread_time()
        dec = self.policy.decide(observation, mask)
        self.cpu.append(time.thread_time() - c)
        self.wall.append(time.perf_counter() - w)
        return dec


def measure(dataset: str, out: Path, epochs: int = 100) -> dict:
    dialogues = load_dialogues(dataset)
    res: dict = {"load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count()}
    for seed in PAPER_SEEDS:
        train, test, _ = paper_split(dialogues, seed)
        pol = lcio_policy(train, seed, epochs, lcio_path(out / "cache", seed, epochs))
        ev = PaperEvaluator(test, PaperSimulator(train))
        for phase in ("cold", "warm"):
            timed = _Timed(pol)
            for d in test:
                ev.play(timed, d, PAPER_BUDGETS)
            for kind, xs in (("wall", timed.wall), ("cpu", timed.cpu)):
                ms = np.asarray(xs) * 1e3
                res.setdefault(f"{phase}_{kind}_ms_p99", []).append(float(np.percentile(ms, 99)))
                res.setdefault(f"{phase}_{kind}_ms_p50", []).append(float(np.percentile(ms, 50)))
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--out", default="runs/eval")
    ap.add_argument("--epochs", type=int, default=100)
    args = ap.parse_args(argv)
    res = measure(args.dataset, Path(args.out), args.epochs)
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
