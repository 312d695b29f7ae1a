"""How each model family decodes, in one place, for the local backend and the stand-in alike.

Greedy decoding with no repetition control made SmolLM2-135M answer "What is the capital of
France?" with "The capital of France is Paris, capital of France is Paris, France is France is
…" until the token limit. Each family gets its settings here:

- `answer_ngram`: an n-gram the *answer* already contains may not be produced again. Unlike
  transformers' `no_repeat_ngram_size` (and `repetition_penalty`), it ignores the prompt, so
  rewrites and transcriptions may still copy the person's words.
- `repetition_penalty`: transformers' own (it also penalises prompt tokens; off unless it helps).
- `stop`: strings that end the answer (a small model starting to write the next turn).
- `answer_tokens`: a sensible answer length per task kind, for callers that know the task.

`loops(text)` detects an answer stuck in a loop; the speed benchmark reports the share of
looping answers with and without these settings (docs/results.md, "Answer quality").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

# Answer lengths per task kind (tokens): a greeting needs few, an explanation more.
_ANSWER_TOKENS: Mapping[str, int] = MappingProxyType({
    "chat": 64, "qa": 96, "yes_no": 48, "rewrite": 96, "translation": 96, "transcription": 128,
    "summary": 128, "arithmetic": 128, "reasoning": 160, "code": 192, "default": 256,
})


class AnswerNGramBlocker(LogitsProcessor):
    """Forbid the token that would repeat an n-gram already in the answer (prompt ignored)."""

    def __init__(self, n: int, prompt_length: int) -> None:
        if n < 2:
            raise ValueError("answer_ngram must be at least 2")
        self.n = n
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        n = self.n
        for row in range(input_ids.shape[0]):
            answer = input_ids[row, self.prompt_length:].tolist()
            if len(answer) < n:
                continue
            prefix = answer[len(answer) - n + 1:]
            banned = {answer[i + n - 1] for i in range(len(answer) - n + 1)
                      if answer[i:i + n - 1] == prefix}
            if banned:
                scores[row, list(banned)] = -float("inf")
        return scores


@dataclass(frozen=True)
class Decoding:
    """One family's decoding settings; `generate_kwargs` turns them into `generate` arguments."""

    family: str
    answer_ngram: int = 0
    repetition_penalty: float | None = None
    stop: tuple[str, ...] = ()
    answer_tokens: Mapping[str, int] = field(default_factory=lambda: _ANSWER_TOKENS)

    def max_new_tokens(self, task: str | None = None) -> int:
        return self.answer_tokens.get(task or "default", self.answer_tokens["default"])

    def generate_kwargs(self, prompt_length: int, tokenizer: Any = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.answer_ngram:
            kwargs["logits_processor"] = LogitsProcessorList(
                [AnswerNGramBlocker(self.answer_ngram, prompt_length)])
        if self.repetition_penalty:
            kwargs["repetition_penalty"] = self.repetition_penalty
        if self.stop and tokenizer is not None:
            kwargs.update(stop_strings=list(self.stop), tokenizer=tokenizer)
        return kwargs


# Chosen on the benchmark's fixed question set (python -m lab.speed, "Answer quality").
PLAIN = Decoding("plain")
SMOLLM2 = Decoding("smollm2", answer_ngram=4, stop=("\nUser:", "\nuser\n"))
QWEN2 = Decoding("qwen2", answer_ngram=4)
FAMILIES: Mapping[str, Decoding] = MappingProxyType(
    {"smollm2": SMOLLM2, "qwen2": QWEN2, "plain": PLAIN})


def decoding_for(model: Any) -> Decoding:
    """The settings for a loaded model: by its name (SmolLM2 is a "llama"), then its type."""
    name = str(getattr(model, "_lcio_name", "") or "").lower()
    model_type = str(getattr(getattr(model, "config", None), "model_type", "") or "")
    if "smollm" in name:
        return SMOLLM2
    if model_type == "qwen2" or "qwen" in name:
        return QWEN2
    return PLAIN


_WORD = re.compile(r"\w+")
_CODE = re.compile(r"```.*?(```|$)", re.DOTALL)


def loops(text: str, n: int = 4, times: int = 3) -> bool:
    """True when some n words recur `times` times or more (an answer stuck repeating itself).

    Fenced code is left out: code repeats its names and phrases by design.
    """
    words = _WORD.findall(_CODE.sub(" ", text).lower())
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    return any(count >= times for count in grams.values())


class StopTrimmer:
    """Streams text up to the first stop string, holding back a tail that may begin one."""

    def __init__(self, stop: tuple[str, ...]) -> None:
        self.stop = tuple(s for s in stop if s)
        self.held = ""
        self.stopped = False

    def feed(self, delta: str) -> str:
        """The part of `delta` that is safe to show now ("" once a stop string was seen)."""
        if self.stopped:
            return ""
        text = self.held + delta
        cuts = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if cuts:
            self.stopped, self.held = True, ""
            return text[:min(cuts)]
        keep = max((k for s in self.stop for k in range(1, len(s)) if text.endswith(s[:k])),
                   default=0)
        self.held = text[len(text) - keep:] if keep else ""
        return text[:len(text) - keep]

    def finish(self) -> str:
        """What was held back, once the answer ended without a stop string."""
        rest, self.held = ("" if self.stopped else self.held), ""
        return rest
