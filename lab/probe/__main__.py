"""`python -m lab.probe run --model KEY` answers the probe with one model; `table` sums up.

run: loads the candidate as the app would (nf4 for the local model and the stand-in), answers
every probe item (greedy, the app's system prompt, the model's chat template, at most
--max-new-tokens), appending one row per answer to runs/probe/answers.jsonl, so an interrupted
run resumes where it stopped. Then it times a 64-token reply and appends one row per run to
runs/probe/models.jsonl: load seconds, peak resident memory, file size, sha256, licence,
seconds and tok/s of the reply, the machine's load average.
table: the markdown table of docs/standin.md from those two files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from lab.probe.items import ProbeItem, all_items

OUT = Path("runs/probe")


def _done(answers: Path, key: str) -> set[str]:
    if not answers.is_file():
        return set()
    rows = (json.loads(line) for line in answers.read_text().splitlines() if line.strip())
    return {row["id"] for row in rows if row["model"] == key}


def pick(items: list[ProbeItem], per_family: int | None) -> list[ProbeItem]:
    """The first `per_family` items of each family, round-robin (item 1 of every family, then
    item 2, ...), so a run stopped half-way still covers every family; all items when None."""
    if per_family is None:
        return items
    rank: dict[str, int] = {}
    ranked = []
    for order, item in enumerate(items):
        rank[item.family] = rank.get(item.family, 0) + 1
        if rank[item.family] <= per_family:
            ranked.append((rank[item.family], order, item))
    return [item for _, _, item in sorted(ranked, key=lambda r: (r[0], r[1]))]


def run(key: str, out: Path, batch: int, max_new_tokens: int, per_family: int | None,
        threads: int | None, speed_only: bool = False) -> None:
    import torch

    from backends.config import get_settings
    from backends.models import load_model
    from backends.standin_model import sha256_of
    from lab.probe.answer import answer_batches, time_reply
    from lab.probe.candidates import resolve
    from lab.scoring import score_answer

    if threads:
        torch.set_num_threads(threads)
    settings = get_settings()
    out.mkdir(parents=True, exist_ok=True)
    answers = out / "answers.jsonl"
    candidate = resolve(key, Path(settings.cache_dir))
    started = time.perf_counter()
    model, tokenizer = load_model(candidate.ref, quantize=candidate.quantize, device="cpu")
    load_s = time.perf_counter() - started
    items = [] if speed_only else pick(all_items(), per_family)
    done = _done(answers, key)
    todo = [item for item in items if item.id not in done]
    print(f"{candidate.name}: loaded in {load_s:.1f} s; {len(done)} answered before, "
          f"{len(todo)} to go", flush=True)
    with answers.open("a") as sink:
        for n, (item, text, tokens) in enumerate(answer_batches(
                model, tokenizer, todo, settings.system_prompt, max_new_tokens, batch), 1):
            score = score_answer(item.rule, text, question=item.question)
            sink.write(json.dumps({"model": key, "id": item.id, "family": item.family,
                                   "answer": text, "tokens": tokens,
                                   "score": round(score.score, 4)}) + "\n")
            sink.flush()
            print(f"[{n}/{len(todo)}] {item.id} {score.score:.2f} {text[:60]!r}", flush=True)
    speed = time_reply(model, tokenizer, settings.system_prompt)
    row: dict[str, Any] = {
        "model": key, "name": candidate.name, "load_s": round(load_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "file": candidate.file.name, "file_bytes": candidate.file.stat().st_size,
        "sha256": sha256_of(candidate.file), "licence": candidate.licence,
        "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "max_new_tokens": max_new_tokens, "batch": batch, "items": len(items), **speed,
    }
    with (out / "models.jsonl").open("a") as sink:
        sink.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def rescore(out: Path) -> int:
    """Score the stored answers again with the current rules (after a rule was fixed);
    rewrites answers.jsonl through a temp file. Returns how many scores changed."""
    from lab.scoring import score_answer

    answers = out / "answers.jsonl"
    items = {item.id: item for item in all_items()}
    changed, lines = 0, []
    for line in answers.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        item = items.get(row["id"])
        if item is not None:
            score = round(score_answer(item.rule, row["answer"], question=item.question).score, 4)
            changed += score != row["score"]
            row["score"] = score
        lines.append(json.dumps(row) + "\n")
    tmp = answers.with_suffix(".tmp")
    tmp.write_text("".join(lines))
    tmp.replace(answers)
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run", help="answer the probe with one model")
    go.add_argument("--model", required=True, help="smollm2-135m or a stand-in registry key")
    go.add_argument("--batch", type=int, default=8)
    go.add_argument("--max-new-tokens", type=int, default=64)
    go.add_argument("--per-family", type=int, default=None, help="only the first N of each family")
    go.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    go.add_argument("--speed-only", action="store_true", help="only time the 64-token reply")
    go.add_argument("--out", type=Path, default=OUT)
    show = sub.add_parser("table", help="the summary table from runs/probe")
    show.add_argument("--out", type=Path, default=OUT)
    show.add_argument("--models", default="", help="comma-separated keys (default: all)")
    again = sub.add_parser("rescore", help="score stored answers again with the current rules")
    again.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.model, args.out, args.batch, args.max_new_tokens, args.per_family,
            args.threads, args.speed_only)
    elif args.command == "rescore":
        print(f"{rescore(args.out)} scores changed")
    else:
        from lab.probe.table import markdown

        sys.stdout.write(markdown(args.out, [m for m in args.models.split(",") if m]) + "\n")


if __name__ == "__main__":
    main()
