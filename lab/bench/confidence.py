"""Does the small model know when it is right? Its confidence in each recorded local answer.

    python -m lab.bench.confidence assets/bench/lcio-bench-v2.jsonl [--limit N] [--json OUT]

A cascade (answer locally, escalate when the answer looks weak) or a router is only as good as
its signal of the small model's success. The most direct one is the model's own confidence:
the mean log-probability of its answer's tokens given the prompt. This re-reads every local
answer of a bench file through the same prompt the build asked it with (`build.request_for`,
`batched.Side`: perception, window, chat template) in one teacher-forced forward pass, and
prints how well that separates a good answer (score ≥ 0.5) and a local answer at least as good
as the best cloud one (ROC AUC, 0.5 = no signal), overall and per task. About 5 minutes for
v2's 796 local answers on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

GOOD = 0.5  # a score at least this is a good answer


def roc_auc(score: list[float], positive: list[bool]) -> float:
    """P(a positive scores above a negative), ties counted half; NaN without both classes."""
    s, y = np.asarray(score, dtype=np.float64), np.asarray(positive, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    pos, neg = s[y][:, None], s[~y][None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def answer_confidence(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per local answer: its task, score, the best cloud score and mean log-prob."""
    import torch

    from backends.config import get_settings
    from backends.local import LocalBackend
    from lab.bench.batched import Side
    from lab.bench.build import DEFAULT_MEDIA, SYSTEM_PROMPT, prepare, request_for
    from lab.bench.scenarios_v2 import generate_v2
    from policies.bench.dataset import load_bench

    bench = load_bench(path)
    space, settings = bench.space, get_settings()
    turns = {(t.dialogue, t.index): t for t in bench.turns}
    cloud = np.array([a.location == "cloud" for a in space.actions])
    side = Side(LocalBackend(settings))
    loaded = side.backend.load()
    rows = []
    for dialogue in generate_v2(int(bench.header.get("seed", 0)))[:limit]:
        prepared = prepare(dialogue, DEFAULT_MEDIA)
        for p in prepared:
            t = turns.get((dialogue.id, p.index))
            if t is None:
                continue
            for a, action in enumerate(space.actions):
                if action.location != "local" or not t.valid[a] or a not in t.answers:
                    continue
                request = request_for(prepared[: p.index], p, action, settings.max_new_tokens,
                                      bench.header.get("system_prompt", SYSTEM_PROMPT))
                ids = side.prompt(request).ids
                answer = loaded.tokenizer(t.answers[a], add_special_tokens=False)["input_ids"]
                if answer:
                    with torch.inference_mode():
                        logits = loaded.model(input_ids=torch.tensor([ids + answer])).logits
                    logp = torch.log_softmax(logits[0, len(ids) - 1:-1].float(), -1)
                    mean_lp = float(logp[torch.arange(len(answer)), torch.tensor(answer)].mean())
                else:
                    mean_lp = float("-inf")  # an empty answer: no confidence at all
                rows.append({"turn": f"{dialogue.id}/{p.index}", "action": a, "task": t.task,
                             "score": float(t.quality[a]),
                             "best_cloud": float(np.nanmax(np.where(cloud & t.valid, t.quality, np.nan))),
                             "mean_logprob": mean_lp})
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    def line(name: str, rs: list[dict[str, Any]]) -> str:
        conf = [r["mean_logprob"] for r in rs]
        good = roc_auc(conf, [r["score"] >= GOOD for r in rs])
        wins = roc_auc(conf, [r["score"] >= r["best_cloud"] - 1e-9 for r in rs])
        return f"| {name} | {len(rs)} | {good:.2f} | {wins:.2f} |"

    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[r["task"]].append(r)
    return "\n".join(["| task | local answers | AUC: good answer | AUC: local ≥ best cloud |",
                      "|---|---|---|---|", line("all", rows),
                      *(line(task, rs) for task, rs in sorted(by_task.items()))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="first N dialogues only")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = answer_confidence(args.dataset, args.limit)
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
