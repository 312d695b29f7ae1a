"""LCIO-Bench's scoring rules: defined in `lab.scoring` (the speed benchmark scores with
them too, and backends never import policies); re-exported here for the bench's code."""

from lab.scoring import (
    REFUSAL_PATTERNS,
    SCORING_VERSION,
    Embedder,
    Judge,
    Rule,
    RuleKind,
    Score,
    apply_rule,
    is_refusal,
    minilm_embed,
    normalise,
    numbers_in,
    score_answer,
    score_exact,
    score_keywords,
    score_number,
    score_similarity,
)

__all__ = [
    "REFUSAL_PATTERNS", "SCORING_VERSION", "Embedder", "Judge", "Rule", "RuleKind", "Score",
    "apply_rule", "is_refusal", "minilm_embed", "normalise", "numbers_in", "score_answer",
    "score_exact", "score_keywords", "score_number", "score_similarity",
]
