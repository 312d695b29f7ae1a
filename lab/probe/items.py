"""The probe's questions: everyday items from assets/probe/everyday.jsonl plus the quality set.

Each item has an id, a family (world_facts, units, ... or `quality_set`), the question and a
`lab.scoring.Rule`. The file is checked on load so a bad line fails loudly, not as a 0 score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lab.scoring import Rule

PROBE_FILE = Path(__file__).resolve().parents[2] / "assets" / "probe" / "everyday.jsonl"
QUALITY_FAMILY = "quality_set"
RULE_KINDS = ("number", "keywords", "exact", "similarity")


@dataclass(frozen=True)
class ProbeItem:
    id: str
    family: str
    question: str
    rule: Rule


class ProbeFileError(ValueError):
    """A line of the probe file does not follow the schema; the message names the line."""


def parse_line(line: str, number: int = 0) -> ProbeItem:
    """One JSON line -> ProbeItem, or ProbeFileError saying what is wrong with it."""
    try:
        data = json.loads(line)
        item = ProbeItem(str(data["id"]), str(data["family"]), str(data["question"]),
                         Rule.from_json(data["rule"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ProbeFileError(f"line {number}: {exc!r}") from exc
    rule = item.rule
    problems = [
        not item.id or not item.family or not item.question.strip(),
        rule.kind not in RULE_KINDS,
        rule.kind == "number" and rule.target is None,
        rule.kind == "keywords" and (not rule.groups or not all(rule.groups)),
        rule.kind == "exact" and not rule.text,
        rule.kind == "similarity" and not rule.reference,
    ]
    if any(problems):
        raise ProbeFileError(f"line {number}: incomplete item or rule: {line.strip()[:120]}")
    return item


def load_everyday(path: Path = PROBE_FILE) -> list[ProbeItem]:
    """The everyday items; ids must be unique."""
    items = [parse_line(line, n) for n, line in enumerate(path.read_text().splitlines(), 1)
             if line.strip()]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ProbeFileError(f"duplicate id {item.id!r}")
        seen.add(item.id)
    return items


def quality_items() -> list[ProbeItem]:
    """The project's fixed quality set (lab.quality) as probe items of family `quality_set`."""
    from lab.quality import QUESTIONS

    return [ProbeItem(f"quality-{n:02d}", QUALITY_FAMILY, q.text, q.rule)
            for n, q in enumerate(QUESTIONS, 1)]


def all_items(path: Path = PROBE_FILE) -> list[ProbeItem]:
    return load_everyday(path) + quality_items()
