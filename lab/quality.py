"""A fixed question set, scored by LCIO-Bench's rules: the quality gap local vs stand-in as a number.

Twelve single-turn questions across the task kinds the app meets (facts, chit-chat, summary,
translation, arithmetic, a receipt, reasoning, yes/no, rewrite, code), each with a rule from
`lab.scoring`. `evaluate` answers them with any `Backend` and reports the mean score, the
mean per task and the share of answers that loop (`backends.decoding.loops`). Used by
`python -m lab.speed` (the "quality" section) to compare models and decoding settings.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from backends.base import Backend
from backends.decoding import PLAIN, loops
from backends.types import ChatRequest, Message
from lab.scoring import Embedder, Rule, minilm_embed, score_answer


@dataclass(frozen=True)
class Question:
    task: str
    text: str
    rule: Rule


def _kw(*groups: str) -> Rule:
    return Rule("keywords", groups=tuple(tuple(g.split("|")) for g in groups))


QUESTIONS: tuple[Question, ...] = (
    Question("qa", "What is the capital of France?", _kw("paris")),
    Question("qa", "Which planet is known as the Red Planet?", _kw("mars")),
    Question("chat", "Hello! How are you today?", Rule(
        "similarity", reference="Hello! I'm doing well, thank you. How can I help you today?")),
    Question("summary", "Summarise in one sentence: The meeting about the new library was moved "
             "from Monday to Thursday because the mayor was ill, and it will now start at 6 pm "
             "in the town hall.", _kw("thursday", "6 pm|6pm|six|18:00", "town hall")),
    Question("translation", "Translate into French: The cat is sleeping on the chair.",
             _kw("chat", "dort", "chaise")),
    Question("arithmetic", "What is 17 times 23?", Rule("number", target=391.0)),
    Question("arithmetic", "A receipt lists bread $2.50, milk $1.20 and apples $3.30. "
             "What is the total?", Rule("number", target=7.0, tolerance=0.005)),
    Question("reasoning", "Tom has 3 apples. He buys 5 more and then gives 2 to Ann. "
             "How many apples does Tom have now?", Rule("number", target=6.0)),
    Question("yes_no", "A sign on the shop door reads 'CLOSED'. Is the shop open? "
             "Answer yes or no.", _kw("no")),
    Question("rewrite", "Rewrite this more politely: Give me the report now.", Rule(
        "similarity", reference="Could you please send me the report when you have a moment?")),
    Question("code", "Write a Python function that returns the square of a number.",
             _kw("def", "return")),
    Question("qa", "How many days are there in a week?", Rule("number", target=7.0)),
)


def evaluate(backend: Backend, max_tokens: int = 96, embed: Embedder = minilm_embed,
             questions: tuple[Question, ...] = QUESTIONS) -> dict[str, Any]:
    """Answer every question (greedy) and score it: mean, per task, loop share, the rows."""
    decoding = getattr(backend, "decoding", PLAIN)
    rows: list[dict[str, Any]] = []
    tokens = 0
    started = time.perf_counter()
    for question in questions:
        limit = min(max_tokens, decoding.max_new_tokens(question.task))
        done = backend.generate(ChatRequest([Message("user", question.text)],
                                            max_new_tokens=limit, temperature=0.0))
        score = score_answer(question.rule, done.text, question=question.text, embed=embed)
        tokens += done.completion_tokens
        rows.append({"task": question.task, "question": question.text, "answer": done.text,
                     "score": round(score.score, 4), "loops": loops(done.text),
                     "tokens": done.completion_tokens})
    return summarise(rows, time.perf_counter() - started, tokens)


def summarise(rows: list[dict[str, Any]], seconds: float = 0.0, tokens: int = 0) -> dict[str, Any]:
    by_task: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row["score"])
    return {
        "mean": round(statistics.fmean(r["score"] for r in rows), 4) if rows else 0.0,
        "per_task": {task: round(statistics.fmean(v), 4) for task, v in sorted(by_task.items())},
        "loop_share": round(sum(r["loops"] for r in rows) / len(rows), 4) if rows else 0.0,
        "questions": len(rows),
        "seconds": round(seconds, 1),
        "tokens": tokens,
        "rows": rows,
    }


def markdown(columns: dict[str, dict[str, Any]]) -> str:
    """A README table: one column per evaluated model/setting, rows mean, each task, loops."""
    tasks = sorted({t for c in columns.values() for t in c["per_task"]})
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|",
             "| **mean score** | " + " | ".join(f"**{c['mean']:.3f}**" for c in columns.values()) + " |"]
    lines += [f"| {t} | " + " | ".join(f"{c['per_task'].get(t, float('nan')):.2f}"
                                       for c in columns.values()) + " |" for t in tasks]
    lines.append("| answers that loop | " + " | ".join(
        f"{c['loop_share']:.0%}" for c in columns.values()) + " |")
    lines.append("| tokens answered, seconds | " + " | ".join(
        f"{c['tokens']}, {c['seconds']:.0f} s" for c in columns.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """`python -m lab.quality runs/speed/backends.json`: the quality table of docs/results.md."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path, help="JSON written by python -m lab.speed --json")
    results = json.loads(parser.parse_args(argv).results.read_text())
    columns: dict[str, dict[str, Any]] = {}
    quality = results.get("quality")
    if quality:
        local, standin = quality["local"], quality["standin"]
        columns[f"local {local['model']}, plain greedy"] = local["plain"]
        columns[f"local, {local['decoding']} settings"] = local["tuned"]
        columns[f"stand-in {standin['model']} over HTTP"] = standin["tuned"]
    for label in ("nf4", "bf16"):
        variant = results.get("local", {}).get(label, {})
        if "quality" in variant:
            columns[f"{results['local'].get('model', '')} {label}"] = variant["quality"]
    print(markdown(columns))


if __name__ == "__main__":
    main()
