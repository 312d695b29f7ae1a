"""How an LLM judge and the bench's rule scores agree, on the free-text turns where both exist.

    python -m lab.bench.judge_agreement assets/bench/lcio-bench-v2.jsonl --sample 60

`lab.scoring.score_answer` lets a judge replace the rule score only for free-text turns
(similarity rules); facts (numbers, keywords, exact strings) are always scored by their rule,
and refusals and empty answers score 0 before any judge is asked. The row keeps both
(`score` = the judge's, `rule_score` = MiniLM cosine). This script asks the configured cloud
(the stand-in unless OPENAI_* is set) to judge a seeded sample of a file's free-text answers
and prints how the two agree: Pearson and Spearman correlation, mean absolute difference, and
how often they agree on which of two answers to the same turn is better.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from backends.config import default_offline_env
from lab.bench.build import CloudJudge, read_rows, real_backends


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def agreement(pairs: list[tuple[str, float, float]]) -> dict[str, Any]:
    """pairs: (turn key, rule score, judge score)."""
    rule = np.array([p[1] for p in pairs])
    judge = np.array([p[2] for p in pairs])
    by_turn: dict[str, list[tuple[float, float]]] = {}
    for key, r, j in pairs:
        by_turn.setdefault(key, []).append((r, j))
    same_order, compared = 0, 0
    for scores in by_turn.values():
        for i in range(len(scores)):
            for k in range(i + 1, len(scores)):
                dr, dj = scores[i][0] - scores[k][0], scores[i][1] - scores[k][1]
                if dr and dj:
                    compared += 1
                    same_order += (dr > 0) == (dj > 0)
    return {"n": len(pairs),
            "pearson": round(float(np.corrcoef(rule, judge)[0, 1]), 3) if len(pairs) > 2 else None,
            "spearman": round(float(np.corrcoef(_ranks(rule), _ranks(judge))[0, 1]), 3)
            if len(pairs) > 2 else None,
            "mean_abs_diff": round(float(np.mean(np.abs(rule - judge))), 3),
            "mean_rule": round(float(rule.mean()), 3), "mean_judge": round(float(judge.mean()), 3),
            "pairs_same_order": f"{same_order}/{compared}"}


def main(argv: list[str] | None = None) -> int:
    default_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--sample", type=int, default=60, help="free-text turns to judge")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = list(read_rows(args.dataset))
    turns = {r["key"]: r for r in rows if r.get("type") == "turn" and r["rule"]["kind"] == "similarity"}
    outcomes = [r for r in rows if r.get("type") == "outcome"
                and f"{r['dialogue']}/{r['turn']}" in turns and not r["refusal"] and r["answer"].strip()]
    keys = sorted(turns)
    random.Random(args.seed).shuffle(keys)
    chosen = set(keys[: args.sample])
    backends = real_backends(8, load_local=False)  # only the cloud judges
    judge = CloudJudge(backends.cloud)
    pairs = []
    try:
        for row in outcomes:
            key = f"{row['dialogue']}/{row['turn']}"
            if key in chosen:
                t = turns[key]
                pairs.append((key, float(row["rule_score"]),
                              judge(t["question"], t["reference"], row["answer"])))
    finally:
        if backends.close is not None:
            backends.close()
    report = {"dataset": str(args.dataset), "judge": judge.model, **agreement(pairs)}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
