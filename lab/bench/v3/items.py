"""The shape of v3 content: items (a prompt, its reference and scoring rule) in families.

An item may carry follow-ups (`then`) that refer back to it; they stay in the same dialogue,
right after it. Keyword groups are written as strings with ``|`` between alternatives, so a
content module reads as sentences, not as nested tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.bench.media import MediaSpec
from lab.bench.scoring import Rule


@dataclass(frozen=True)
class Item:
    """One message, its reference answer and rule; `then` are follow-ups that refer to it."""

    prompt: str
    reference: str
    rule: Rule
    then: tuple[Item, ...] = ()
    attachments: tuple[MediaSpec, ...] = ()
    relevant: tuple[bool, ...] = ()
    question: str = ""  # what was asked, when it is not the prompt (a voice note's words)
    task: str = ""  # when it differs from its family's (a follow-up of another kind)


@dataclass(frozen=True)
class Family:
    """Items of one topic written for one task; all of them land on one side of a split."""

    name: str
    task: str
    items: tuple[Item, ...] = field(default_factory=tuple)


def groups(*alternatives: str) -> tuple[tuple[str, ...], ...]:
    """'paris' -> (('paris',),); 'co2|carbon dioxide' -> (('co2', 'carbon dioxide'),)."""
    return tuple(tuple(a.strip() for a in alt.split("|")) for alt in alternatives)


def kw(prompt: str, reference: str, *alternatives: str, then: tuple[Item, ...] = (),
       task: str = "") -> Item:
    """An item scored by keyword groups (every group must appear for full marks)."""
    return Item(prompt, reference, Rule("keywords", groups=groups(*alternatives)), then,
                task=task)


def num(prompt: str, reference: str, value: float, tol: float = 1e-6,
        then: tuple[Item, ...] = (), task: str = "") -> Item:
    """An item scored by the number the answer states."""
    return Item(prompt, reference, Rule("number", float(value), tolerance=tol), then, task=task)


def sim(prompt: str, reference: str, then: tuple[Item, ...] = (), task: str = "") -> Item:
    """A free-text item scored by MiniLM similarity to the reference."""
    return Item(prompt, reference, Rule("similarity", reference=reference), then, task=task)


def fam(name: str, task: str, *items: Item) -> Family:
    return Family(name, task, tuple(items))
