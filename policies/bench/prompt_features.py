"""What a prompt says, as numbers a policy can learn from: hashed word and word-pair counts.

The observation carries them (`policies.bench.observation.PROMPT`) so that a policy's
`decide(observation, mask)` can judge the turn itself, not only its task class (RouteLLM's
routers read the prompt the same way). Hashing (CRC-32, stable across processes) needs no
vocabulary, so the app builds them with no trained artifact; the learned parts (IDF weights,
the quality model, the router) live in the policies, fitted on training dialogues only.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

PROMPT_DIM = 512
_WORD = re.compile(r"[a-z0-9']+")


def prompt_tokens(prompt: str) -> list[str]:
    """Lower-cased words and adjacent word pairs (pairs tell "how many" from "how much")."""
    words = _WORD.findall(prompt.lower())
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


def _bucket(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) % PROMPT_DIM


def prompt_counts(prompt: str) -> np.ndarray:
    """[PROMPT_DIM] token counts by hash bucket (float32, what the observation stores)."""
    out = np.zeros(PROMPT_DIM, dtype=np.float32)
    for tok in prompt_tokens(prompt):
        out[_bucket(tok)] += 1.0
    return out


def idf_weights(counts: np.ndarray) -> np.ndarray:
    """Smoothed inverse document frequency per bucket from training rows of counts [m, D]."""
    df = (np.asarray(counts) > 0).sum(0)
    return np.log((1.0 + len(counts)) / (1.0 + df)) + 1.0


def tfidf(counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """Rows of counts weighted by `idf` and scaled to unit length (all-zero rows stay zero)."""
    v = np.atleast_2d(np.asarray(counts, dtype=np.float64)) * idf[None, :]
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)
