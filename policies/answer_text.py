"""What an answer's text looks like, read without a reference: normalised words and refusals.

The benchmark's scoring rules (`lab.scoring`) start from these, and the cascade baseline
(`policies.bench.routers`) escalates on a refusal when it decides, so they live in the library.
"""

from __future__ import annotations

import re
import unicodedata

REFUSAL_PATTERNS = (
    "sorry",
    "i can't",
    "i cannot",
    "i can not",
    "i don't have",
    "i do not have",
    "i'm unable",
    "i am unable",
    "unable to",
    "i'm not able",
    "i am not able",
    "as an ai",
    "i don't know",
    "i do not know",
)


def normalise(text: str) -> str:
    """Lowercase, strip accents, keep letters/digits/'.,$-, collapse spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9'.,$\- ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def contains_phrase(haystack: str, phrase: str) -> bool:
    phrase = normalise(phrase)
    if not phrase:
        return False
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", haystack) is not None


def is_refusal(answer: str, reference: str = "") -> bool:
    """A refusal phrase near the start of the answer that the reference does not contain."""
    head = normalise(answer[:200])
    ref = normalise(reference)
    return any(contains_phrase(head, p) and not contains_phrase(ref, p) for p in REFUSAL_PATTERNS)
