"""LCIO-Bench scoring rules on hand-made answers (the MiniLM test loads the real model)."""

from __future__ import annotations

import pytest

from lab.bench.scoring import (
    Rule,
    apply_rule,
    is_refusal,
    numbers_in,
    score_answer,
    score_exact,
    score_keywords,
    score_number,
)


def test_numbers_are_read_from_digits_money_and_words() -> None:
    assert numbers_in("It costs $1,234.50, or four payments of 308.63.") == [1234.5, 308.63, 4.0]
    assert numbers_in("minus -3 and 12.") == [-3.0, 12.0]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("17 times 6 is 102.", 1.0),
        ("The answer is one hundred and two.", 0.0),  # words above twenty are not read
        ("102", 1.0),
        ("It is 103.", 0.0),
        ("Maybe 100, 101, 102, 103 or 104.", 0.6),  # listing candidates does not pass by luck
    ],
)
def test_number_rule(answer: str, expected: float) -> None:
    assert score_number(answer, 102, 1e-6, question="What is 17 times 6?") == pytest.approx(expected)


def test_number_rule_tolerance_for_money() -> None:
    assert score_number("Each pays 8.33 dollars.", 8.333, 0.011) == 1.0
    assert score_number("Each pays 8.50 dollars.", 8.333, 0.011) == 0.0


def test_keywords_give_partial_credit_and_respect_word_boundaries() -> None:
    groups = (("closed",), ("cleaning",), ("3", "three"))
    assert score_keywords("The sign says CLOSED for cleaning, open at 3 PM.", groups) == 1.0
    assert score_keywords("It says closed.", groups) == pytest.approx(1 / 3)
    assert score_keywords("Enclosed area, 30 people.", groups) == 0.0  # no substrings
    assert score_keywords("A tabby kitten.", (("cat", "kitten", "tabby"),)) == 1.0
    assert score_keywords("It's Mar.", (("march", "mar"),)) == 1.0


def test_keywords_ignore_case_and_accents() -> None:
    assert score_keywords("Café in PARÍS", (("paris",),)) == 1.0


def test_exact_rule() -> None:
    assert score_exact("The password is Sunflower42.", "Sunflower42") == 1.0
    assert score_exact("The password is sunflower 42.", "Sunflower42") == 0.0
    assert score_exact("Sunflower421", "Sunflower42") == 0.0


def test_refusals_score_zero_unless_the_reference_says_the_same() -> None:
    rule = Rule("keywords", groups=(("paris",),))
    refused = score_answer(rule, "I'm sorry, I don't have that information. Paris?")
    assert refused.score == 0.0 and refused.refusal
    assert score_answer(rule, "").score == 0.0
    assert not is_refusal("Sorry, I can't make it tomorrow.",
                          reference="I am sorry, but I can't make it tomorrow.")
    assert is_refusal("Sorry, I can't make it tomorrow.", reference="See you tomorrow.")
    assert not is_refusal("Hello, I am sorry, but I will not be able to attend.",
                          reference="Hello, I am sorry, but I will not be able to attend.")
    assert is_refusal("As an AI, I cannot see images.")


def fake_embed(texts: list[str]) -> list[list[float]]:
    """Bag of three words: a stand-in embedding to test the arithmetic of the rule."""
    return [[t.lower().count(w) + 0.0 for w in ("cat", "dog", "tea")] for t in texts]


def test_similarity_is_a_clipped_cosine() -> None:
    rule = Rule("similarity", reference="a cat")
    assert apply_rule(rule, "cat cat", embed=fake_embed) == pytest.approx(1.0)
    assert apply_rule(rule, "dog", embed=fake_embed) == 0.0
    assert apply_rule(rule, "cat dog", embed=fake_embed) == pytest.approx(2 ** -0.5, abs=1e-6)


class FakeJudge:
    model = "judge:fake"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, question: str, reference: str, answer: str) -> float:
        self.calls += 1
        return 0.7


def test_judge_only_for_free_text_and_recorded() -> None:
    judge = FakeJudge()
    free = score_answer(Rule("similarity", reference="a cat"), "cat", embed=fake_embed,
                        judge=judge)
    assert (free.score, free.method, free.rule_score) == (0.7, "judge", 1.0)
    assert free.judge == {"model": "judge:fake", "score": 0.7}
    fact = score_answer(Rule("number", 4.0), "four legs", judge=judge)
    assert (fact.score, fact.method, fact.judge) == (1.0, "number", None)
    assert judge.calls == 1


@pytest.mark.slow
def test_minilm_similarity_ranks_a_paraphrase_above_an_unrelated_answer() -> None:
    reference = "Could you please send me the report when you have a moment? Thank you!"
    rule = Rule("similarity", reference=reference)
    close = apply_rule(rule, "Would you kindly send over the report when you get a chance? Thanks.")
    far = apply_rule(rule, "Jupiter is the largest planet in the solar system.")
    assert 0.0 <= far < 0.3 < 0.6 < close <= 1.0
    assert apply_rule(rule, reference) == pytest.approx(1.0, abs=1e-5)
