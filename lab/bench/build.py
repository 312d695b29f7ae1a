"""Build LCIO-Bench: every turn answered under every action by the real backends, resumably.

    python -m lab.bench.build --out assets/bench/lcio-bench-v1.jsonl [--limit N] [--seed S]
                                   [--max-new-tokens T] [--media-dir DIR]

The output is JSON Lines, one record per line, in a fixed order:

- ``header`` (first line): format and version, seed, scenario/scoring versions, the action
  space, the system prompt, max_new_tokens, the backends and their model labels (the cloud is
  the project's stand-in unless an OpenAI-compatible endpoint is configured), the judge (only
  with a real cloud), library versions; ``measured`` holds the creation time.
- ``turn`` (one per turn, before its outcomes): the prompt, the spoken question, the task, the
  attachments (slot, kind, file, sha256, description, whether it is needed), the reference,
  the scoring rule, the turns it refers to; ``measured`` holds each attachment's cold
  perception time (first sight, no cache), which the local path pays once per attachment.
- ``outcome`` (one per turn x action of `ActionSpace(slots=3, local_subsets=True)` that uses
  only attachments the turn has): the answer, tokens, backend/model, score, score method,
  rule score, refusal flag, judge, error; ``measured`` holds ttft_s, latency_s, perception_s,
  cost_usd and energy_j — the timings, and what is derived from them.

The history of turn i is the *reference* conversation (earlier prompts with their attachments,
and the reference answers), so every action of a turn answers the same question. Decoding is
greedy. Hence "the same inputs give the same file" holds for everything outside ``measured``:
`content_view` drops the ``measured`` parts, and the resume test compares exactly that.

Resuming: rows are keyed by (dialogue, turn, action) (and (dialogue, turn) for turn records);
a rerun skips keys already in the file and appends the rest in the same order, so an
interrupted build, continued, equals an uninterrupted one. Each row is one `write` of a whole
line followed by fsync; a torn last line (no newline, or not JSON) is cut off on resume. A
header that disagrees with this run (seed, versions, models, max_new_tokens, ...) is refused.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.config import DEFAULT_SYSTEM_PROMPT, default_offline_env
from lab.bench.build_backends import Backends, CloudJudge, real_backends  # noqa: F401 (re-exported)
from lab.bench.build_rows import (  # noqa: F401 (re-exported: the builders' shared file handling)
    RowWriter,
    content_view,
    outcome_key,
    read_rows,
    repair_tail,
    turn_key,
)
from lab.bench.media import espeak_version, render
from lab.bench.scenarios import MAX_ATTACHMENTS, SCENARIO_VERSION, Dialogue, Turn, generate
from lab.bench.scoring import (
    SCORING_VERSION,
    Embedder,
    Judge,
    Rule,
    minilm_embed,
    score_answer,
)
from policies.base import Action, ActionSpace

FORMAT = "lcio-bench"
FORMAT_VERSION = 1
DEFAULT_OUT = Path("assets/bench/lcio-bench-v1.jsonl")
DEFAULT_MEDIA = Path("assets/bench/media")
SYSTEM_PROMPT = DEFAULT_SYSTEM_PROMPT  # the app sends the same (backends.config)
ACTION_SPACE = ActionSpace(slots=MAX_ATTACHMENTS, local_subsets=True)
# Header fields that must match for a resume to append to an existing file.
COMPAT_FIELDS = ("format", "version", "seed", "scenario_version", "scoring_version",
                 "action_space", "system_prompt", "max_new_tokens", "history", "models", "judge")
RETRIES = 2



# ------------------------------------------------------------------ requests


@dataclass
class PreparedTurn:
    """A turn with its attachments rendered to files and opened as `Attachment`s."""

    dialogue: Dialogue
    index: int
    turn: Turn
    attachments: tuple[Any, ...]  # backends.types.Attachment, one per slot


def prepare(dialogue: Dialogue, media_dir: Path) -> list[PreparedTurn]:
    from backends.types import Attachment

    prepared = []
    for i, turn in enumerate(dialogue.turns):
        files = tuple(Attachment.from_path(render(spec, media_dir)) for spec in turn.attachments)
        prepared.append(PreparedTurn(dialogue, i, turn, files))
    return prepared


def valid_actions(n_attachments: int) -> list[int]:
    """Indices of the actions that use only slots this turn fills."""
    present = [i < n_attachments for i in range(ACTION_SPACE.slots)]
    return [int(i) for i, ok in enumerate(ACTION_SPACE.mask_for(present)) if ok]


def request_for(history: list[PreparedTurn], current: PreparedTurn, action: Action,
                max_new_tokens: int, system_prompt: str = SYSTEM_PROMPT) -> Any:
    """The reference conversation so far, then the turn with the action's attachments only.

    `system_prompt`: a file's own (its header's), when re-asking a built file's turns."""
    from backends.types import ChatRequest, Message

    messages = [Message("system", system_prompt)]
    for past in history:
        messages.append(Message("user", past.turn.prompt, past.attachments))
        messages.append(Message("assistant", past.turn.reference))
    chosen = tuple(current.attachments[s] for s in action.attachments)
    messages.append(Message("user", current.turn.prompt, chosen))
    return ChatRequest(messages=messages, max_new_tokens=max_new_tokens, temperature=0.0)


def turn_record(p: PreparedTurn, media_dir: Path, cold: list[float] | None) -> dict[str, Any]:
    t = p.turn
    return {
        "type": "turn",
        "key": turn_key(p.dialogue.id, p.index),
        "dialogue": p.dialogue.id,
        "blueprint": p.dialogue.blueprint,
        "turn": p.index,
        "n_turns": len(p.dialogue.turns),
        "task": t.task,
        "prompt": t.prompt,
        "question": t.question,
        "reference": t.reference,
        "rule": t.rule.to_json(),
        "refers_to": list(t.refers_to),
        "attachments": [
            {"slot": s, "kind": a.kind, "file": a.path.name, "sha256": a.sha256,
             "description": spec.description, "relevant": rel, "spec": spec.to_json()}
            for s, (a, spec, rel) in enumerate(zip(p.attachments, t.attachments, t.relevant,
                                                   strict=True))
        ],
        "measured": {"perception_cold_s": cold},
    }


def cold_perception_s(attachments: tuple[Any, ...]) -> list[float] | None:
    """Seconds each attachment takes to perceive on first sight (no cache); None if unavailable."""
    try:
        from backends.perception import PerceptionCache, attachment_to_text
    except ImportError:
        return None
    out = []
    for attachment in attachments:
        attachment_to_text(attachment, PerceptionCache(None))  # loads the models, once
        started = time.perf_counter()
        attachment_to_text(attachment, PerceptionCache(None))  # timed: no cache, models loaded
        out.append(round(time.perf_counter() - started, 4))
    return out


def run_action(backend: Any, request: Any) -> tuple[Any | None, str | None]:
    """(Completion, None) or (None, "ErrorClass: message") after retrying retryable errors."""
    from backends.errors import BackendError

    error: str | None = None
    for attempt in range(RETRIES + 1):
        try:
            return backend.generate(request), None
        except BackendError as exc:
            error = f"{type(exc).__name__}: {exc.message}"
            if not exc.retryable or attempt == RETRIES:
                break
            time.sleep(1.0 + attempt)
    return None, error


def outcome_record(p: PreparedTurn, index: int, action: Action, completion: Any,
                   error: str | None, embed: Embedder, judge: Judge | None) -> dict[str, Any]:
    rule: Rule = p.turn.rule
    answer = completion.text if completion is not None else ""
    scored = score_answer(rule, answer, question=p.turn.question, reference=p.turn.reference,
                          embed=embed, judge=judge)
    return {
        "type": "outcome",
        "key": outcome_key(p.dialogue.id, p.index, index),
        "dialogue": p.dialogue.id,
        "turn": p.index,
        "action": index,
        "location": action.location,
        "slots": list(action.attachments),
        "answer": answer,
        "error": error,
        "backend": completion.backend if completion else None,
        "model": completion.model if completion else None,
        "prompt_tokens": completion.prompt_tokens if completion else 0,
        "completion_tokens": completion.completion_tokens if completion else 0,
        "finish_reason": completion.finish_reason if completion else "error",
        "attachments_used": list(completion.attachments_used) if completion else [],
        "score": round(scored.score, 6),
        "score_method": scored.method,
        "rule_score": round(scored.rule_score, 6),
        "refusal": scored.refusal,
        "judge": scored.judge,
        "measured": {
            "ttft_s": round(completion.ttft_s, 4) if completion else None,
            "latency_s": round(completion.latency_s, 4) if completion else None,
            "perception_s": round(completion.perception_s, 4) if completion else None,
            "cost_usd": completion.cost_usd if completion else 0.0,
            "energy_j": round(completion.energy_j, 4) if completion else 0.0,
        },
    }


# ------------------------------------------------------------------ header


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "bitsandbytes", "sentence-transformers", "openai",
                 "pillow", "scikit-image"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    out["espeak-ng"] = espeak_version()
    out["python"] = sys.version.split()[0]
    return out


def make_header(seed: int, max_new_tokens: int, models: dict[str, Any],
                judge: Judge | None) -> dict[str, Any]:
    return {
        "type": "header",
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "seed": seed,
        "scenario_version": SCENARIO_VERSION,
        "scoring_version": SCORING_VERSION,
        "action_space": {"slots": ACTION_SPACE.slots, "local_subsets": True,
                         "n": ACTION_SPACE.n,
                         "actions": [[a.location, list(a.attachments)]
                                     for a in ACTION_SPACE.actions]},
        "system_prompt": SYSTEM_PROMPT,
        "max_new_tokens": max_new_tokens,
        "history": "reference",  # earlier prompts with their attachments + reference answers
        "models": models,
        "judge": judge.model if judge is not None else None,
        "scoring": "exact/keyword/number for facts; all-MiniLM-L6-v2 cosine for free text; "
                   "refusals 0; LLM judge only with a real cloud (lab/bench/scoring.py)",
        "libraries": library_versions(),
        "measured": {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }


def check_header(existing: Mapping[str, Any], wanted: Mapping[str, Any], path: Path,
                 fields: tuple[str, ...] = COMPAT_FIELDS) -> None:
    diffs = [f for f in fields if existing.get(f) != wanted.get(f)]
    if diffs:
        raise SystemExit(
            f"{path} was built with different {', '.join(diffs)}; resume refused. Use another "
            "--out, or the same settings as the file's header."
        )


# ------------------------------------------------------------------ the build


@dataclass
class BuildReport:
    rows_written: int
    rows_skipped: int
    turns: int
    dialogues: int
    seconds: float


def build(
    out: Path,
    *,
    seed: int = 0,
    limit: int | None = None,
    max_new_tokens: int = 96,
    media_dir: Path = DEFAULT_MEDIA,
    backends: Backends | None = None,
    embed: Embedder = minilm_embed,
    progress: bool = True,
    measure_perception: bool = True,
) -> BuildReport:
    """Append every missing (turn, action) outcome of the first `limit` dialogues to `out`."""
    from tqdm import tqdm

    started = time.perf_counter()
    dialogues = generate(seed)
    if limit is not None:
        dialogues = dialogues[:limit]
    backends = backends or real_backends(max_new_tokens)
    header = make_header(seed, max_new_tokens, backends.models, backends.judge)

    repair_tail(out)
    done: set[str] = set()
    if out.exists() and out.stat().st_size:
        rows = read_rows(out)
        existing = next(rows)
        if existing.get("type") != "header":
            raise SystemExit(f"{out} does not start with an LCIO-Bench header.")
        check_header(existing, header, out)
        done = {row["key"] for row in rows}
    writer = RowWriter(out)
    if not done and out.stat().st_size == 0:
        writer.append(header)

    total = sum(len(valid_actions(len(t.attachments))) for d in dialogues for t in d.turns)
    skipped = sum(1 for d in dialogues for i, t in enumerate(d.turns)
                  for a in valid_actions(len(t.attachments))
                  if outcome_key(d.id, i, a) in done)
    written = 0
    bar = tqdm(total=total, initial=skipped, unit="answer", desc="LCIO-Bench",
               disable=not progress, dynamic_ncols=True)
    try:
        for dialogue in dialogues:
            prepared = prepare(dialogue, media_dir)
            for p in prepared:
                if turn_key(dialogue.id, p.index) not in done:
                    cold = cold_perception_s(p.attachments) if measure_perception else None
                    writer.append(turn_record(p, media_dir, cold))
                for index in valid_actions(len(p.attachments)):
                    key = outcome_key(dialogue.id, p.index, index)
                    if key in done:
                        continue
                    action = ACTION_SPACE.actions[index]
                    backend = backends.local if action.location == "local" else backends.cloud
                    request = request_for(prepared[: p.index], p, action, max_new_tokens)
                    completion, error = run_action(backend, request)
                    writer.append(outcome_record(p, index, action, completion, error, embed,
                                                 backends.judge))
                    written += 1
                    bar.update(1)
    finally:
        bar.close()
        writer.close()
    turns = sum(len(d.turns) for d in dialogues)
    return BuildReport(written, skipped, turns, len(dialogues), time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    default_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N dialogues only")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--media-dir", type=Path, default=DEFAULT_MEDIA)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    backends = real_backends(args.max_new_tokens)
    try:
        report = build(args.out, seed=args.seed, limit=args.limit,
                       max_new_tokens=args.max_new_tokens, media_dir=args.media_dir,
                       backends=backends, progress=not args.no_progress)
    finally:
        if backends.close is not None:
            backends.close()
    rate = report.rows_written / report.seconds if report.seconds else 0.0
    print(f"{args.out}: {report.dialogues} dialogues, {report.turns} turns; "
          f"{report.rows_written} answers written, {report.rows_skipped} already there; "
          f"{report.seconds:.1f} s ({rate:.3f} answers/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
