"""Answer many bench requests at once, exactly as each backend would build their prompts.

A v2 build asks ~1,600 questions at the app's answer length (256 tokens). Asked one at a time
on 2 CPU cores that is most of a day; asked in batches it is about an hour, because decoding
one token for 16 prompts costs little more than for one. Batching changes *how fast* answers
come, not *which* answers (greedy decoding, the same prompt ids, the same decoding settings),
so the build takes answers from batches and times each backend separately
(`lab.bench.timing`): a sample of turns is sent through the real path one at a time.

Prompts are built by the backends' own code: the local side is `LocalBackend`'s perception,
window fitting and chat template; the cloud side first goes through what crosses the wire
(`CloudBackend.to_openai_messages`, then the stand-in server's `parse_request`), so images are
downscaled and audio re-encoded as the stand-in would see them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from backends.decoding import StopTrimmer
from backends.local import _eos_ids


@dataclass(frozen=True)
class Prompt:
    """One request as its model will read it."""

    ids: list[int]
    max_new: int
    images: int = 0
    audio_s: float = 0.0


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    mean_logprob: float | None = None  # mean log-probability of the answer's tokens


class ChosenLogProbs(LogitsProcessor):
    """Records the log-probability of each token greedy decoding picks, as generation runs.

    Placed first among the answer's own processors, it reads the model's scores before the
    n-gram block changes them (the shipped decodings add no other processor). Memory stays
    one step of scores: the token chosen at step t is read from input_ids at step t + 1, and
    the last one from the output (`finish`), instead of keeping every step's logits.
    """

    def __init__(self) -> None:
        self.last: torch.Tensor | None = None
        self.steps: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.last is not None:
            self.steps.append(self.last.gather(1, input_ids[:, -1:]).squeeze(1))
        self.last = scores.float().log_softmax(-1)
        return scores

    def finish(self, new_tokens: torch.Tensor) -> list[list[float]]:
        """Per row, the log-probability of each generated token (`new_tokens`: [rows, steps])."""
        if self.last is not None and new_tokens.shape[1] > len(self.steps):
            self.steps.append(self.last.gather(1, new_tokens[:, -1:].to(self.last.device))
                              .squeeze(1))
        if not self.steps:
            return [[] for _ in range(new_tokens.shape[0])]
        return torch.stack(self.steps, 1).cpu().tolist()


class Side:
    """One model and the way its backend turns a `ChatRequest` into prompt ids."""

    def __init__(self, backend: Any, wire: Callable[[Any, Path], tuple[Any, int, float]] | None = None):
        self.backend = backend  # a loaded backends.local.LocalBackend
        self.wire = wire  # request -> (request as the server parses it, images, audio seconds)

    def prompt(self, request: Any) -> Prompt:
        if self.wire is None:
            return self._read(request, 0, 0.0)
        with tempfile.TemporaryDirectory(prefix="lcio-batch-") as tmp:  # the files cross the wire
            return self._read(*self.wire(request, Path(tmp)))

    def _read(self, request: Any, images: int, audio_s: float) -> Prompt:
        """The prompt ids as the backend builds them (perception, window, chat template)."""
        chat = self.backend._perceive_messages(request.messages)
        max_new = request.max_new_tokens or self.backend.settings.max_new_tokens
        _, ids, max_new, _ = self.backend.fit_to_window(chat, max_new)
        return Prompt(list(ids), max_new, images, audio_s)

    def answer(self, prompts: Sequence[Prompt]) -> list[Answer]:
        """Greedy answers for a batch of prompts (left-padded), each cut where it would stop,
        with the mean log-probability of its tokens (those `completion_tokens` counts)."""
        loaded = self.backend.load()
        tokenizer, model = loaded.tokenizer, loaded.model
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        width = max(len(p.ids) for p in prompts)
        rows = [[pad] * (width - len(p.ids)) + p.ids for p in prompts]
        mask = [[0] * (width - len(p.ids)) + [1] * len(p.ids) for p in prompts]
        input_ids = torch.tensor(rows, dtype=torch.long, device=loaded.device)
        decoding = self.backend.decoding
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.tensor(mask, dtype=torch.long, device=loaded.device),
            "max_new_tokens": max(p.max_new for p in prompts),
            "do_sample": False, "temperature": None, "top_p": None, "top_k": None,
            "pad_token_id": pad,
        }
        kwargs.update(decoding.generate_kwargs(width, tokenizer))
        chosen = ChosenLogProbs()
        kwargs["logits_processor"] = LogitsProcessorList(
            [chosen, *kwargs.get("logits_processor", [])])
        with torch.inference_mode():
            output = model.generate(**kwargs)
        logprobs = chosen.finish(output[:, width:])
        ends = _eos_ids(loaded) | {pad}
        answers = []
        for row, prompt, lps in zip(output[:, width:].tolist(), prompts, logprobs, strict=True):
            tokens = row[: prompt.max_new]
            cut = next((i for i, t in enumerate(tokens) if t in ends), None)
            stopped = cut is not None
            tokens = tokens[: cut + 1] if stopped else tokens
            trimmer = StopTrimmer(decoding.stop)
            text = trimmer.feed(tokenizer.decode(tokens, skip_special_tokens=True)) + trimmer.finish()
            finish = "stop" if stopped or trimmer.stopped else (
                "length" if len(tokens) >= prompt.max_new else "stop")
            mean_lp = sum(lps[: len(tokens)]) / len(tokens) if tokens else None
            answers.append(Answer(text, len(prompt.ids), len(tokens), finish, mean_lp))
        return answers


def cloud_wire(cloud: Any, settings: Any) -> Callable[[Any, Path], tuple[Any, int, float]]:
    """What the stand-in server receives for a request the cloud backend sends."""
    from backends.server import parse_request

    def wire(request: Any, tmp: Path) -> tuple[Any, int, float]:
        body = {"messages": cloud.to_openai_messages(request.messages),
                "max_tokens": request.max_new_tokens, "temperature": 0.0}
        parsed = parse_request(body, tmp, settings)
        return parsed.chat, parsed.images, parsed.audio_s

    return wire
