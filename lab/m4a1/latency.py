"""How long LCIO takes to decide on M4A1's held-out turns: wall clock and CPU time, with the
policy's memo caches cold (a freshly loaded policy's first pass) and warm (a second pass over
the same dialogues).

    python -m lab.m4a1.latency --out runs/eval --repeats 5

Wall clock includes waiting for a core (the figure that matters under load); thread CPU time
is the work itself. Each seed's held-out split has ~70 turns, so one pass's p99 is about its
slowest decision: the cold and warm passes are repeated `--repeats` times, each on a freshly
loaded policy, and the percentiles are over all of them. Uses the policies `python -m
lab.evaluate` cached under OUT/cache (trained there if absent). Prints the 1-minute load
average before and after, and the percentiles per seed in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split
from lab.m4a1.runner import lcio_path, lcio_policy
from policies.artifacts import DEFAULT_DATASET
from policies.m4a1.data import load_dialogues
from policies.m4a1.planner import LookaheadPlanner
from policies.profiles import PAPER_BUDGETS


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


def measure(dataset: str, out: Path, repeats: int = 1) -> dict:
    dialogues = load_dialogues(dataset)
    res: dict = {"load_average_1min_before": os.getloadavg()[0], "cpus": os.cpu_count(),
                 "repeats": repeats}
    for seed in PAPER_SEEDS:
        train, test, _ = paper_split(dialogues, seed)
        path = lcio_path(out / "cache", seed)
        lcio_policy(train, seed, path)  # trains and caches it if absent
        ev = PaperEvaluator(test, PaperSimulator(train))
        times: dict[str, list[float]] = {}
        for _ in range(repeats):
            pol = LookaheadPlanner.load(path)  # fresh memo caches (filled ahead for turns 0-2 only)
            for phase in ("cold", "warm"):
                timed = _Timed(pol)
                for d in test:
                    ev.play(timed, d, PAPER_BUDGETS)
                times.setdefault(f"{phase}_wall", []).extend(timed.wall)
                times.setdefault(f"{phase}_cpu", []).extend(timed.cpu)
        for key, xs in times.items():
            ms = np.asarray(xs) * 1e3
            res.setdefault(f"{key}_ms_p99", []).append(round(float(np.percentile(ms, 99)), 3))
            res.setdefault(f"{key}_ms_p50", []).append(round(float(np.percentile(ms, 50)), 3))
        res.setdefault("decisions_per_phase", []).append(len(times["cold_cpu"]))
    res["load_average_1min_after"] = os.getloadavg()[0]
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--out", default="runs/eval")
    ap.add_argument("--repeats", type=int, default=5, help="fresh loads per seed (pooled percentiles)")
    args = ap.parse_args(argv)
    res = measure(args.dataset, Path(args.out), args.repeats)
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
