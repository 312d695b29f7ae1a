"""How much a routing decision can win on an LCIO-Bench file: the per-task table and targets.

    python -m lab.bench.headroom assets/bench/lcio-bench-v2.jsonl [--json OUT]

Prints, per task, the mean best-local and best-cloud score (best over the action's attachment
subsets), their mean seconds and dollars, and three headroom figures a benchmark needs if it
is to show that a policy is good (issue 10's targets in brackets):

- mean best-cloud minus best-local score per turn [>= 0.15];
- the share of turns where a local action has the highest plain reward (quality minus the
  latency and dollar terms of `BenchWeights`) [>= 25 %];
- reward per turn of the best fixed routing per (task, file kinds) minus always-cloud with
  every file [>= 0.05], with the routing chosen on the training split (80 % of dialogues,
  seed 0) and scored on the rest, so it is a decision a policy could have learned; the
  in-sample figure is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from policies.bench.dataset import BenchTurn, load_bench
from policies.bench.observation import BenchWeights
from policies.bench.routers import fullest


def _best(t: BenchTurn, location: str, values: np.ndarray, space: Any) -> int:
    idx = [a for a in range(space.n) if t.valid[a] and space.actions[a].location == location]
    return max(idx, key=lambda a: values[a]) if idx else -1


def _rewards(t: BenchTurn, w: BenchWeights) -> np.ndarray:
    return np.where(t.valid, w.reward(np.nan_to_num(t.quality), np.nan_to_num(t.latency_s),
                                      np.nan_to_num(t.usd), np.nan_to_num(t.energy_j)), -np.inf)


def _routing_gain(train: list[BenchTurn], test: list[BenchTurn], space: Any,
                  w: BenchWeights) -> float:
    """Reward per test turn: the best fixed action per (task, kinds) on train vs all-files cloud."""
    groups: dict[tuple[str, tuple[str, ...]], list[np.ndarray]] = defaultdict(list)
    for t in train:
        groups[(t.task, t.kinds)].append(_rewards(t, w))
    choice = {g: int(np.argmax(np.mean(np.where(np.isfinite(r), r, -1e9), axis=0)))
              for g, r in groups.items()}
    gains = []
    for t in test:
        r = _rewards(t, w)
        base = r[fullest(space, t.kinds, "cloud")]
        a = choice.get((t.task, t.kinds), fullest(space, t.kinds, "cloud"))
        gains.append((r[a] if np.isfinite(r[a]) else base) - base)
    return float(np.mean(gains))


def _loops(turns: list[BenchTurn], space: Any) -> dict[str, list[bool]]:
    """Per location, whether each answer is stuck repeating itself (`backends.decoding.loops`)."""
    from backends.decoding import loops

    out: dict[str, list[bool]] = {"local": [], "cloud": []}
    for t in turns:
        for a, answer in t.answers.items():
            out[space.actions[a].location].append(loops(answer))
    return out


def headroom(path: str | Path, seed: int = 0) -> dict[str, Any]:
    bench = load_bench(path)
    space, w = bench.space, BenchWeights()
    turns = bench.turns
    per_task: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    gaps, local_best = [], []
    for t in turns:
        bl, bc = _best(t, "local", t.quality, space), _best(t, "cloud", t.quality, space)
        row = per_task[t.task]
        for name, a in (("local", bl), ("cloud", bc)):
            row[f"{name}_score"].append(float(t.quality[a]))
            row[f"{name}_s"].append(float(t.latency_s[a]))
            row[f"{name}_usd"].append(float(t.usd[a]))
        gaps.append(float(t.quality[bc] - t.quality[bl]))
        r = _rewards(t, w)
        local_best.append(space.actions[int(np.argmax(r))].location == "local")
    names = list(bench.dialogues)
    random.Random(seed).shuffle(names)
    cut = int(0.8 * len(names))
    train = [t for n in names[:cut] for t in bench.dialogues[n]]
    test = [t for n in names[cut:] for t in bench.dialogues[n]]
    table = {task: {k: round(float(np.mean(v)), 6) for k, v in row.items()}
             | {"turns": len(row["local_score"])} for task, row in sorted(per_task.items())}
    return {
        "file": str(path), "dialogues": len(bench.dialogues), "turns": len(turns),
        "per_task": table,
        "cloud_minus_local_score": round(float(np.mean(gaps)), 4),
        "local_best_share": round(float(np.mean(local_best)), 4),
        "zero_everywhere_share": round(float(np.mean([np.nanmax(t.quality) == 0 for t in turns])), 4),
        "routing_gain_heldout": round(_routing_gain(train, test, space, w), 4),
        "loop_share": {loc: round(float(np.mean(flags)), 4) if flags else 0.0
                       for loc, flags in _loops(turns, space).items()},
        "routing_gain_in_sample": round(_routing_gain(turns, turns, space, w), 4),
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['file']}: {report['dialogues']} dialogues, {report['turns']} turns", "",
             "| task | turns | best local score | best cloud score | local s | cloud s | local $ | cloud $ |",
             "|---|---|---|---|---|---|---|---|"]
    for task, r in report["per_task"].items():
        lines.append(f"| {task} | {r['turns']} | {r['local_score']:.3f} | {r['cloud_score']:.3f} | "
                     f"{r['local_s']:.1f} | {r['cloud_s']:.1f} | {r['local_usd']:.7f} | "
                     f"{r['cloud_usd']:.7f} |")
    lines += ["",
              "best cloud - best local score per turn: "
              f"{report['cloud_minus_local_score']:+.3f} (target >= 0.15)",
              f"local has the best reward on {100 * report['local_best_share']:.1f} % of turns "
              "(target >= 25 %)",
              f"every action scores 0 on {100 * report['zero_everywhere_share']:.1f} % of turns",
              "answers that loop: " + ", ".join(f"{loc} {100 * v:.1f} %"
                                                for loc, v in report["loop_share"].items()),
              f"best (task, files) routing vs always-cloud-every-file, reward per turn: "
              f"{report['routing_gain_heldout']:+.4f} held-out, {report['routing_gain_in_sample']:+.4f} "
              "in-sample (target >= 0.05)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = headroom(args.dataset)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
