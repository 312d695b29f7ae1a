"""The thirteen LCIO-Bench task names: what the observation one-hot and the tables index.

A library fact, kept apart from how the benchmark's dialogues are written (`lab.bench.turns`)."""

from __future__ import annotations

from typing import Literal

Task = Literal[
    "image_qa", "ocr", "speech", "factual", "summarise", "rewrite", "recommend", "arithmetic",
    "chat", "transcribe", "yes_no", "translate", "reasoning",
]
# v1's eight tasks, then the five v2 adds (lab/bench/scenarios_v2.py); v1 files use the first eight.
TASKS: tuple[str, ...] = (
    "image_qa", "ocr", "speech", "factual", "summarise", "rewrite", "recommend", "arithmetic",
    "chat", "transcribe", "yes_no", "translate", "reasoning",
)
