"""Decoding settings: the loop detector, answer-only n-gram blocking, stop strings, per family."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from backends.config import Settings
from backends.decoding import (
    PLAIN,
    QWEN2,
    SMOLLM2,
    AnswerNGramBlocker,
    Decoding,
    StopTrimmer,
    decoding_for,
    loops,
)
from backends.local import LocalBackend
from backends.types import ChatRequest, Message


def test_loops_catches_the_france_answer_and_spares_normal_ones() -> None:
    looping = ("The capital of France is Paris, capital of France is Paris, France is France is "
               "France is France is")
    assert loops(looping)
    assert loops("no no no no no no")
    assert not loops("The capital of France is Paris.")
    assert not loops("Paris is the capital of France. France is in Europe, and Paris is on the Seine.")
    assert not loops("")
    code = "```python\ndef square(n):\n    \"\"\"The square of a number.\"\"\"\n" + (
        "    # the square of a number\n" * 3) + "    return n * n\n```"
    assert not loops("Here is the square of a number:\n" + code)
    assert loops("The square of a number. " * 3 + code)


def test_the_blocker_forbids_repeating_an_answer_ngram_but_not_a_prompt_one() -> None:
    prompt = [5, 6, 7, 8, 5, 6]  # the prompt repeats (5, 6) -> 7; that must stay allowed
    blocker = AnswerNGramBlocker(3, prompt_length=len(prompt))
    ids = torch.tensor([prompt + [1, 2, 3, 1, 2]])  # the answer already said 1 2 3, now "1 2"
    scores = blocker(ids, torch.zeros(1, 10))
    assert scores[0, 3] == -float("inf")  # 1 2 3 again: blocked
    assert torch.isfinite(scores[0, [0, 1, 2, 4, 5, 6, 7, 8, 9]]).all()
    only_prompt = torch.tensor([prompt + [5, 6]])
    assert torch.isfinite(blocker(only_prompt, torch.zeros(1, 10))).all()


def test_stop_trimmer_cuts_at_a_stop_string_split_across_deltas() -> None:
    trimmer = StopTrimmer(("\nUser:",))
    shown = [trimmer.feed(d) for d in ["Paris is", " the capital.\nUs", "er: and more", " text"]]
    assert "".join(shown) + trimmer.finish() == "Paris is the capital."
    held = StopTrimmer(("\nUser:",))
    assert held.feed("ends with \nUs") == "ends with "
    assert held.finish() == "\nUs"  # no stop came: what was held back is shown after all


def test_families_are_chosen_by_name_then_model_type() -> None:
    def model(name: str, model_type: str) -> Any:
        return SimpleNamespace(_lcio_name=name, config=SimpleNamespace(model_type=model_type))

    assert decoding_for(model("SmolLM2-135M-Instruct", "llama")) is SMOLLM2
    assert decoding_for(model("Qwen2.5-Coder-0.5B-Instruct.Q4_K_M", "qwen2")) is QWEN2
    assert decoding_for(model("my-model", "qwen2")) is QWEN2
    assert decoding_for(model("tiny", "llama")) is PLAIN
    assert SMOLLM2.max_new_tokens("chat") < SMOLLM2.max_new_tokens("code")
    assert SMOLLM2.max_new_tokens("unknown-task") == SMOLLM2.max_new_tokens()


def _repeated_ngrams(ids: list[int], n: int) -> int:
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    return len(grams) - len(set(grams))


@pytest.mark.parametrize("n", [2, 3])
def test_the_local_backend_applies_the_settings(tiny_model: tuple[Any, Any], n: int) -> None:
    """The tiny random model loops under plain greedy; with answer_ngram=n it never repeats an
    n-gram of its answer (checked on the tokens it generated)."""
    model, tokenizer = tiny_model
    settings = Settings(local_context_tokens=128)
    request = ChatRequest([Message("user", "the cat is in the water")], max_new_tokens=40)

    def answer_ids(decoding: Decoding) -> list[int]:
        backend = LocalBackend(settings, model=model, tokenizer=tokenizer, decoding=decoding,
                               perceive=lambda a: "")
        done = backend.generate(request)
        assert done.completion_tokens == 40
        return tokenizer(done.text, add_special_tokens=False)["input_ids"]

    assert _repeated_ngrams(answer_ids(PLAIN), n) > 0, "the plain run should loop, or this proves nothing"
    assert _repeated_ngrams(answer_ids(Decoding("test", answer_ngram=n)), n) == 0
