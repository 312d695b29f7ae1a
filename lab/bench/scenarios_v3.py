"""LCIO-Bench v3's dialogues: written-out everyday and multimodal items, dealt by family.

v2's 542 turns held 194 distinct prompts from 18 templated blueprints, so a split by dialogue
put most test prompts, word for word, in training. v3's content is written out item by item
(`lab/bench/v3/`: world facts, definitions, units, commonsense, arithmetic, rewriting,
translation, advice, chit-chat; photos, signs, notes, voice notes, charts, receipts), and
every dialogue comes from one *family* (a topic or template group), so a split by family
(`policies.bench.dataset.family_split`) keeps near-duplicate prompts on one side.

Dealing: a text family's items (each with its follow-ups, which refer back to it) are shuffled
and packed into dialogues of 2-4 turns; some text dialogues get an unrelated photo on their
first turn (best left out). Each picture, voice note, chart or receipt item is a dialogue of
its own (its follow-ups refer to it and its attachment). The same seed gives the same
dialogues (only `random.Random(seed)` is used).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from lab.bench.media import PHOTOS, MediaSpec
from lab.bench.turns import Dialogue, Turn
from lab.bench.v3.checks import CHECKS
from lab.bench.v3.drawn import DRAWN, drawn_families
from lab.bench.v3.everyday import EVERYDAY
from lab.bench.v3.items import Family, Item
from lab.bench.v3.knowledge import KNOWLEDGE
from lab.bench.v3.language import LANGUAGE
from lab.bench.v3.numbers import NUMBERS
from lab.bench.v3.passages import PASSAGES
from lab.bench.v3.pictures import NOTE_FAMILIES, PHOTO_FAMILIES, SIGN_FAMILIES
from lab.bench.v3.social import SOCIAL
from lab.bench.v3.talk import TALK
from lab.bench.v3.voice import VOICE_FAMILIES
from lab.bench.v3.words import WORDS
from lab.bench.v3.world import WORLD

SCENARIO_VERSION_V3 = "3"
TEXT_FAMILIES: tuple[Family, ...] = (*WORLD, *WORDS, *EVERYDAY, *KNOWLEDGE, *CHECKS, *NUMBERS, *LANGUAGE,
                                     *PASSAGES, *TALK, *SOCIAL)
MEDIA_FAMILIES: tuple[Family, ...] = (*PHOTO_FAMILIES, *SIGN_FAMILIES, *NOTE_FAMILIES,
                                      *VOICE_FAMILIES)
DRAWN_PER_FAMILY = 22  # charts or receipts per drawn family
UNRELATED_PHOTO_P = 0.2  # text dialogues whose first message carries an unneeded photo


def families(seed: int = 0) -> tuple[Family, ...]:
    """Every family of the bench; the drawn ones (charts, receipts) depend on the seed."""
    drawn = drawn_families(random.Random(f"v3-drawn-{seed}"), DRAWN_PER_FAMILY)
    return (*TEXT_FAMILIES, *MEDIA_FAMILIES, *drawn)


def block(item: Item, task: str, start: int = 0, parent: int | None = None) -> list[Turn]:
    """`item` as a turn at index `start`, followed by its follow-ups (which refer to it)."""
    turns = [Turn(item.task or task, item.prompt, item.reference, item.rule, item.attachments,
                  item.relevant, item.question, () if parent is None else (parent,))]
    for follow in item.then:
        turns += block(follow, task, start + len(turns), start)
    return turns


def _pack(blocks: list[list[Item]], rng: random.Random) -> list[list[Item]]:
    """Consecutive blocks into groups of 2-4 turns (a short remainder joins the last group)."""
    def size(group: Iterable[Item]) -> int:
        return sum(len(block(i, "")) for i in group)

    groups: list[list[Item]] = []
    current: list[Item] = []
    target = rng.randint(2, 4)
    for items in blocks:
        current += items
        if size(current) >= target:
            groups.append(current)
            current, target = [], rng.randint(2, 4)
    if current:
        if groups and size(current) < 2:
            groups[-1] += current
        else:
            groups.append(current)
    return groups


def _turns(items: list[Item], task: str) -> list[Turn]:
    turns: list[Turn] = []
    for item in items:
        turns += block(item, task, len(turns))
    return turns


def _with_unrelated_photo(turns: list[Turn], rng: random.Random) -> list[Turn]:
    name = rng.choice(sorted(PHOTOS))
    first = turns[0]
    photo = MediaSpec("photo", {"name": name}, f"photo of {PHOTOS[name]}")
    return [Turn(first.task, first.prompt, first.reference, first.rule, (photo,), (False,),
                 first.question, first.refers_to), *turns[1:]]


def generate_v3(seed: int = 0) -> list[Dialogue]:
    """Every family dealt into dialogues, in a seeded order, each carrying its family."""
    rng = random.Random(seed)
    dealt: list[tuple[str, str, list[Turn]]] = []
    for family in TEXT_FAMILIES:
        items = list(family.items)
        rng.shuffle(items)
        for group in _pack([[i] for i in items], rng):
            turns = _turns(group, family.task)
            if rng.random() < UNRELATED_PHOTO_P:
                turns = _with_unrelated_photo(turns, rng)
            dealt.append((family.name, "text", turns))
    for family in families(seed)[len(TEXT_FAMILIES):]:
        kind = family.name.split("-")[0]
        for item in family.items:
            dealt.append((family.name, kind, block(item, family.task)))
    rng.shuffle(dealt)
    return [Dialogue(f"d{i:04d}", kind, tuple(turns), name)
            for i, (name, kind, turns) in enumerate(dealt)]


def masked(prompt: str) -> str:
    """A prompt with its numbers masked, so templates differing only in values count once."""
    return re.sub(r"\d+(?:[.,:]\d+)*", "#", prompt)


def content_stats(dialogues: list[Dialogue]) -> dict[str, int]:
    """The counts the issue sets targets for (dialogues, turns, distinct prompts, families)."""
    turns = [(d.family, t) for d in dialogues for t in d.turns]
    drawn = set(DRAWN)
    return {"dialogues": len(dialogues), "turns": len(turns),
            "distinct_prompts": len({t.prompt for _, t in turns}),
            "distinct_prompts_masked": len({masked(t.prompt) for _, t in turns}),
            "distinct_written_prompts": len({t.prompt for f, t in turns if f not in drawn}),
            "families": len({f for f, _ in turns})}
