"""Build LCIO-Bench v3: every action of every turn answered, batched and resumable, by family.

    python -m lab.bench.build_v3 [--out assets/bench/lcio-bench-v3.jsonl] [--side local|cloud|both]
                                 [--standin MODEL] [--batch 16] [--limit N]
    python -m lab.bench.build_v3 --retime [--timing-sample 12]  # when both sides are built
    python -m lab.bench.build_v3 --status                        # answers per side so far

v2's machinery (`lab.bench.build_v2`, `lab.bench.batched`) over v3's content
(`lab.bench.scenarios_v3`), with four differences:

- every turn row carries ``family`` (the dialogue's topic/template group), so evaluation can
  split by family (`policies.bench.dataset.family_split`);
- every local answer keeps ``mean_logprob``, the mean log-probability of its tokens as the
  model generated them (`batched.ChosenLogProbs`), a cascade's confidence signal;
- one side at a time (``--side local`` now, ``--side cloud`` later): the header records each
  side's model, and a side's model may be replaced in the header only while that side has no
  answers yet, so the stand-in can change between the two builds;
- an attachment's first-sight perception time (``perception_cold_s``) is measured only with
  ``--cold-perception``: it triples the perception work, and on a busy machine the figure
  says little, so it belongs with the timing step on a quiet one;
- ``--standin`` names the stand-in's model (any GGUF file or model folder, as
  ``LCIO_STANDIN_MODEL``), since which one serves is being measured.

Models run where `backends.models.pick_device` puts them: on CUDA when there is one.
Rows are appended a whole line at a time with fsync; a rerun cuts a torn last line, skips every
key already in the file and appends the rest, so an interruption at any point resumes without
duplicates (tests/test_bench_v3.py interrupts after every row).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from backends.config import default_offline_env
from lab.bench.batched import Answer, Prompt
from lab.bench.build import (
    ACTION_SPACE,
    COMPAT_FIELDS,
    DEFAULT_MEDIA,
    RowWriter,
    check_header,
    make_header,
    outcome_record,
    prepare,
    read_rows,
    repair_tail,
    request_for,
    turn_key,
    turn_record,
)
from lab.bench.build_v2 import ColdPerception, Job, jobs_for
from lab.bench.scenarios import Dialogue
from lab.bench.scenarios_v3 import SCENARIO_VERSION_V3, content_stats, generate_v3
from lab.bench.scoring import Embedder, minilm_embed

DEFAULT_OUT_V3 = Path("assets/bench/lcio-bench-v3.jsonl")
FORMAT_VERSION_V3 = 3
SIDES = ("local", "cloud")
WINDOW = 4  # batches whose jobs are sorted by prompt length together (see `answer_jobs`)
# A side's model is checked against that side's rows instead (see `open_bench`).
COMPAT_V3 = tuple(f for f in COMPAT_FIELDS if f != "models")


class AnsweringSide(Protocol):
    """What the build needs of a side: its prompts, batched answers, and what each costs."""

    def prompt(self, request: Any) -> Prompt: ...

    def answer(self, prompts: Sequence[Prompt]) -> list[Answer]: ...

    def price(self, prompt: Prompt, answer: Answer) -> tuple[int, float]: ...


@dataclass
class PricedSide:
    """A `batched.Side` and how its answers are counted: (prompt tokens, dollars)."""

    side: Any
    pricing: Callable[[Prompt, Answer], tuple[int, float]]

    def prompt(self, request: Any) -> Prompt:
        return self.side.prompt(request)

    def answer(self, prompts: Sequence[Prompt]) -> list[Answer]:
        return self.side.answer(prompts)

    def price(self, prompt: Prompt, answer: Answer) -> tuple[int, float]:
        return self.pricing(prompt, answer)


def real_side(name: str, settings: Any) -> AnsweringSide:
    """The local nf4 model, or the stand-in's model behind what crosses the wire, priced as the
    app pays it (`backends.pricing`, from the stand-in's usage)."""
    from lab.bench.batched import Side, cloud_wire

    if name == "local":
        from backends.local import LocalBackend

        return PricedSide(Side(LocalBackend(settings)), lambda p, a: (a.prompt_tokens, 0.0))
    from backends.cloud import CloudBackend
    from backends.server import default_backend, usage_of

    cloud = CloudBackend(settings)

    def pricing(prompt: Prompt, answer: Answer) -> tuple[int, float]:
        usage = usage_of(SimpleNamespace(prompt_tokens=answer.prompt_tokens,
                                         completion_tokens=answer.completion_tokens),
                         prompt.images, prompt.audio_s)
        return (usage["prompt_tokens"],
                cloud.prices.cost(settings.cloud_model, usage, images=prompt.images))

    return PricedSide(Side(default_backend(settings), cloud_wire(cloud, settings)), pricing)


def header_v3(seed: int, max_new_tokens: int, models: dict[str, Any],
              limit: int | None = None) -> dict[str, Any]:
    header = make_header(seed, max_new_tokens, models, None)
    header.update(version=FORMAT_VERSION_V3, scenario_version=SCENARIO_VERSION_V3, limit=limit,
                  split="by family (turn rows carry `family`)",
                  answers="greedy, computed in batches; local answers keep mean_logprob; "
                          "timings fitted on single real answers (--retime)")
    return header


def open_bench(out: Path, header: dict[str, Any], sides: Sequence[str]) -> set[str]:
    """Keys already in `out` (after cutting a torn tail), writing the header to a new file.

    A resume must agree on everything but the models; the model of a side being built must be
    the one the header names, unless that side has no answers yet, in which case the header is
    rewritten (atomically) with the new model."""
    repair_tail(out)
    if not out.exists() or out.stat().st_size == 0:
        writer = RowWriter(out)
        writer.append(header)
        writer.close()
        return set()
    rows = list(read_rows(out))
    existing = rows[0]
    if existing.get("type") != "header":
        raise SystemExit(f"{out} does not start with an LCIO-Bench header.")
    check_header(existing, header, out, COMPAT_V3)
    answered = {r["location"] for r in rows[1:] if r.get("type") == "outcome"}
    stale = [s for s in sides if existing["models"].get(s) != header["models"][s]]
    if clash := [s for s in stale if s in answered]:
        raise SystemExit(f"{out} holds {', '.join(clash)} answers from "
                         f"{[existing['models'][s] for s in clash]}, not "
                         f"{[header['models'][s] for s in clash]}; resume refused. Use another --out.")
    if stale:
        existing["models"] = {**existing["models"], **{s: header["models"][s] for s in stale}}
        tmp = out.with_suffix(".header.tmp")
        tmp.unlink(missing_ok=True)
        writer = RowWriter(tmp)
        for row in rows:
            writer.append(row)
        writer.close()
        os.replace(tmp, out)
    return {row["key"] for row in rows[1:]}


def answer_jobs(name: str, todo: list[Job], side: AnsweringSide, write: Callable[[dict], None],
                model: str, max_new: int, batch: int, embed: Embedder,
                progress: Callable[[int], None]) -> None:
    """Answer `todo` in batches and append one scored row per answer.

    Jobs go in dialogue order, a window of `WINDOW` batches at a time, sorted by prompt length
    inside the window (similar lengths waste less padding): a build stopped early holds whole
    dialogues of every family and task, not all of one task and none of another."""
    prompts = {j.key: side.prompt(request_for(j.history, j.turn, ACTION_SPACE.actions[j.action],
                                              max_new)) for j in todo}
    span = batch * WINDOW
    ordered = [job for start in range(0, len(todo), span)
               for job in sorted(todo[start:start + span],
                                 key=lambda j: (len(prompts[j.key].ids), j.key))]
    for i in range(0, len(ordered), batch):
        group = ordered[i:i + batch]
        for job, answer in zip(group, side.answer([prompts[j.key] for j in group]), strict=True):
            prompt = prompts[job.key]
            prompt_tokens, usd = side.price(prompt, answer)
            completion = SimpleNamespace(
                text=answer.text, backend=name, model=None, prompt_tokens=prompt_tokens,
                completion_tokens=answer.completion_tokens, finish_reason=answer.finish_reason,
                attachments_used=[], ttft_s=0.0, latency_s=0.0, perception_s=0.0, energy_j=0.0,
                cost_usd=usd)
            row = outcome_record(job.turn, job.action, ACTION_SPACE.actions[job.action],
                                 completion, None, embed, None)
            row["model"] = model
            row["mean_logprob"] = (round(answer.mean_logprob, 6) if name == "local"
                                   and answer.mean_logprob is not None else None)
            row["measured"].update(timing="pending", images=prompt.images,
                                   audio_s=round(prompt.audio_s, 3))
            write(row)
            progress(1)


def build_v3(out: Path, *, seed: int = 0, limit: int | None = None, batch: int = 16,
             sides: Sequence[str] = SIDES, media_dir: Path = DEFAULT_MEDIA,
             max_new: int | None = None, dialogues: list[Dialogue] | None = None,
             models: dict[str, Any] | None = None,
             make_side: Callable[[str], AnsweringSide] | None = None,
             embed: Embedder = minilm_embed, cold: Callable[[tuple[Any, ...]], Any] | None = None,
             measure_cold: bool = False,
             writer_factory: Callable[[Path], Any] = RowWriter, progress: bool = True
             ) -> dict[str, Any]:
    """Append every missing turn row and every missing answer of `sides` to `out`."""
    from tqdm import tqdm

    started = time.perf_counter()
    settings = None
    if make_side is None or models is None or max_new is None:
        from backends.config import get_settings

        settings = get_settings()
    max_new = max_new if max_new is not None else settings.max_new_tokens  # type: ignore[union-attr]
    if dialogues is None:
        dialogues = generate_v3(seed)[:limit] if limit else generate_v3(seed)
    if models is None:
        from lab.bench.build_v2 import models_label

        models = models_label(settings)
    header = header_v3(seed, max_new, models, limit)
    done = open_bench(out, header, sides)
    prepared = [prepare(d, media_dir) for d in dialogues]
    cold = cold or (ColdPerception() if measure_cold else lambda attachments: None)
    writer = writer_factory(out)
    jobs = [j for j in jobs_for(prepared) if j.key not in done and j.side in sides]
    bar = tqdm(total=len(jobs), unit="answer", desc="LCIO-Bench v3", dynamic_ncols=True,
               disable=not progress)
    try:
        for turns in prepared:
            for p in turns:
                if turn_key(p.dialogue.id, p.index) not in done:
                    row = turn_record(p, media_dir, cold(p.attachments))
                    row["family"] = p.dialogue.family
                    writer.append(row)
        for name in sides:
            todo = [j for j in jobs if j.side == name]
            if todo:
                side = make_side(name) if make_side else real_side(name, settings)
                model = models[name].get("served_model") or models[name]["model"]
                answer_jobs(name, todo, side, writer.append, model, max_new, batch, embed,
                            bar.update)
    finally:
        bar.close()
        writer.close()
    return {**content_stats(dialogues), "answers_written": len(jobs), "sides": list(sides),
            "seconds": round(time.perf_counter() - started, 1)}


def status(out: Path) -> dict[str, Any]:
    """How far a build is: answers per side against what the turns need, whole dialogues."""
    from lab.bench.build import valid_actions

    rows = list(read_rows(out))
    turns = [r for r in rows if r.get("type") == "turn"]
    done = {r["key"] for r in rows if r.get("type") == "outcome"}
    report: dict[str, Any] = {"turns": len(turns),
                              "dialogues": len({r["dialogue"] for r in turns})}
    for name in SIDES:
        need: dict[str, list[str]] = {}
        for r in turns:
            need.setdefault(r["dialogue"], []).extend(
                f"{r['key']}/{a}" for a in valid_actions(len(r["attachments"]))
                if ACTION_SPACE.actions[a].location == name)
        report[name] = {"answers": sum(k in done for keys in need.values() for k in keys),
                        "of": sum(len(keys) for keys in need.values()),
                        "whole_dialogues": sum(all(k in done for k in keys)
                                               for keys in need.values())}
    return report


def use_standin(model: str | None) -> None:
    """Serve `model` as the stand-in (`LCIO_STANDIN_MODEL`), before settings are first read."""
    if model:
        from backends.config import get_settings

        os.environ["LCIO_STANDIN_MODEL"] = model
        get_settings.cache_clear()


def main(argv: list[str] | None = None) -> int:
    default_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_V3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N dialogues only")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--side", choices=("local", "cloud", "both"), default="both")
    parser.add_argument("--standin", default=None,
                        help="the stand-in's model: a GGUF file or model folder "
                             "(default: the project's, backends.standin_model)")
    parser.add_argument("--retime", action="store_true",
                        help="time a sample one at a time and fill in every row's timings")
    parser.add_argument("--timing-sample", type=int, default=12, help="single answers per side")
    parser.add_argument("--status", action="store_true", help="how far the file is, then exit")
    parser.add_argument("--media-dir", type=Path, default=DEFAULT_MEDIA)
    parser.add_argument("--cold-perception", action="store_true",
                        help="time each attachment's first-sight perception (a quiet machine's job)")
    args = parser.parse_args(argv)
    if args.status:
        print(status(args.out))
        return 0
    use_standin(args.standin)
    if args.retime:
        from lab.bench.build_v2 import retime

        print(retime(args.out, per_side=args.timing_sample, seed=args.seed,
                     media_dir=args.media_dir, dialogues_for=generate_v3))
        return 0
    sides = SIDES if args.side == "both" else (args.side,)
    print(build_v3(args.out, seed=args.seed, limit=args.limit, batch=args.batch, sides=sides,
                   media_dir=args.media_dir, measure_cold=args.cold_perception))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
