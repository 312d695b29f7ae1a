"""The speed benchmark's quality section: the fixed question set scored by LCIO-Bench's rules."""

from __future__ import annotations

from collections.abc import Iterator

from backends.base import Backend, StreamItem
from backends.types import ChatRequest, Completion
from lab.quality import QUESTIONS, evaluate

RIGHT = {
    "What is the capital of France?": "The capital of France is Paris.",
    "What is 17 times 23?": "17 times 23 is 391.",
    "How many days are there in a week?": "There are 7 days in a week.",
}
LOOP = "France is France is France is France is"


class Canned(Backend):
    """Answers three questions right, loops on one, says "I don't know" to the rest."""

    name = "canned"

    def __init__(self) -> None:
        self.limits: list[int] = []

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        question = request.messages[-1].text
        self.limits.append(request.max_new_tokens)
        text = RIGHT.get(question, LOOP if "Red Planet" in question else "I don't know.")
        yield text
        yield Completion(text, self.name, "canned", 0.0, 0.0, 5, len(text.split()))


def no_embedding(texts: list[str]) -> list[list[float]]:
    return [[1.0, 0.0] for _ in texts]  # every free-text answer "similar": score 1


def test_scores_are_the_bench_rules_per_task_with_the_loop_share() -> None:
    backend = Canned()
    result = evaluate(backend, max_tokens=64, embed=no_embedding)
    assert result["questions"] == len(QUESTIONS) == 12
    # right: Paris, 391 and 7 days; "I don't know" is a refusal and scores 0 on every rule
    assert result["per_task"]["qa"] == round(2 / 3, 4)  # Paris, 7 days right; Mars looped
    assert result["per_task"]["arithmetic"] == 0.5
    assert result["per_task"]["chat"] == 0.0  # a refusal scores 0 whatever the embedding says
    assert result["mean"] == round(3 / 12, 4)
    assert result["loop_share"] == round(1 / 12, 4)
    assert max(backend.limits) <= 64 and min(backend.limits) < 64  # per-task lengths, capped


def test_the_readme_table_has_a_column_per_setting_and_a_row_per_task() -> None:
    from lab.quality import markdown

    result = evaluate(Canned(), max_tokens=64, embed=no_embedding)
    table = markdown({"a": result, "b": {**result, "mean": 0.5}}).splitlines()
    assert table[0] == "| | a | b |"
    assert table[2] == "| **mean score** | **0.250** | **0.500** |"
    assert "| arithmetic | 0.50 | 0.50 |" in table
    assert table[-2] == "| answers that loop | 8% | 8% |"
