"""LCIO-Bench v2's dialogues: v1's blueprints plus tasks where the choice of model matters.

v1 mostly asked for things both models failed at (45 % of turns scored 0 under every action).
v2 keeps v1's blueprints and adds, in the same checkable style:

- tasks a small local model handles: greetings and thanks (`chat`), transcribing a voice
  message (`transcribe`), yes/no about a word on a sign (`yes_no`);
- tasks that need the stronger model: short translations (`translate`) and multi-step word
  problems (`reasoning`), with follow-ups that depend on the earlier answer;
- attachments that are sometimes irrelevant (a photo sent along with a word problem or a
  greeting), so leaving them out pays.

`generate_v2(seed)` deals the blueprints in seeded rounds like v1's `generate`, until at least
150 dialogues and 500 turns; the same seed always gives the same dialogues.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lab.bench.facts import FACTS, SIGNS
from lab.bench.facts_v2 import GREETINGS, ITEMS, NAMES, THANKS, TRANSLATIONS, YES_NO_WORDS
from lab.bench.media import MediaSpec
from lab.bench.scenario_parts import _kw, _num, _photo, _sim, _speech
from lab.bench.scenarios import BLUEPRINTS, Dialogue, Turn, generate

SCENARIO_VERSION_V2 = "2"


def _maybe_photo(rng: random.Random, p: float) -> tuple[tuple[MediaSpec, ...], tuple[bool, ...]]:
    """An unrelated photo sent along with the message, with probability p."""
    if rng.random() < p:
        return (_photo(rng)[1],), (False,)
    return (), ()


def bp_greet(rng: random.Random) -> list[Turn]:
    hello, hello_ref = rng.choice(GREETINGS)
    q, groups, ref = rng.choice(FACTS)
    bye, bye_ref = rng.choice(THANKS)
    files, relevant = _maybe_photo(rng, 0.3)
    return [
        Turn("chat", hello, hello_ref, _sim(hello_ref), files, relevant),
        Turn("factual", q, ref, _kw(*groups)),
        Turn("chat", bye, bye_ref, _sim(bye_ref)),
    ]


def bp_transcribe(rng: random.Random) -> list[Turn]:
    q, groups, ref = rng.choice(FACTS)
    phrase, language, t_groups, t_ref = rng.choice(TRANSLATIONS)
    bye, bye_ref = rng.choice(THANKS)
    return [
        Turn("transcribe", "Please transcribe my voice message word for word.", q, _sim(q),
             (_speech(q),), question=q),
        Turn("factual", "Now answer the question I asked in it.", ref, _kw(*groups),
             refers_to=(0,), question=q),
        Turn("translate", f"How do I say '{phrase}' in {language}?", t_ref, _kw(*t_groups)),
        Turn("chat", bye, bye_ref, _sim(bye_ref)),
    ]


def bp_translate(rng: random.Random) -> list[Turn]:
    picks = rng.sample(TRANSLATIONS, 3)
    hello, hello_ref = rng.choice(GREETINGS)
    turns = [Turn("chat", hello, hello_ref, _sim(hello_ref))]
    for i, (phrase, language, groups, ref) in enumerate(picks):
        files, relevant = _maybe_photo(rng, 0.25 if i == 0 else 0.0)
        turns.append(Turn("translate", f"Translate into {language}: '{phrase}'", ref, _kw(*groups),
                          files, relevant))
    return turns


def bp_reasoning(rng: random.Random) -> list[Turn]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start, given = rng.randint(12, 40), rng.randint(2, 9)
    packs, per_pack = rng.randint(2, 4), rng.randint(3, 6)
    now = start - given + packs * per_pack
    friends = rng.choice([d for d in (2, 3, 4, 5, 6) if now % d == 0] or [1])
    files, relevant = _maybe_photo(rng, 0.3)
    problem = (f"{name} has {start} {item}. {name} gives {given} to a friend, then buys {packs} "
               f"packs with {per_pack} {item} in each. How many {item} does {name} have now?")
    turns = [
        Turn("reasoning", problem,
             f"{start} - {given} + {packs} x {per_pack} = {now} {item}.", _num(now), files,
             relevant),
    ]
    if friends > 1:
        turns.append(Turn("reasoning", f"If {name} shares them equally among {friends} friends, "
                          "how many does each friend get?",
                          f"{now} / {friends} = {now // friends} each.", _num(now // friends),
                          refers_to=(0,)))
    price = rng.choice([0.5, 0.25, 2.0, 1.5])
    turns.append(Turn("reasoning", f"Each of the {item} cost {price:.2f} dollars. What were the "
                      f"{packs} packs worth together?",
                      f"{packs} x {per_pack} x {price:.2f} = {packs * per_pack * price:.2f} dollars.",
                      _num(packs * per_pack * price, 0.005), refers_to=(0,)))
    bye, bye_ref = rng.choice(THANKS)
    turns.append(Turn("chat", bye, bye_ref, _sim(bye_ref)))
    return turns


def bp_yes_no(rng: random.Random) -> list[Turn]:
    lines, groups, opens = rng.choice(SIGNS)
    sign = MediaSpec("text_picture", {"style": "sign", "lines": lines}, "sign: " + " / ".join(lines))
    text = " ".join(lines).lower()
    word = rng.choice(YES_NO_WORDS)
    answer = "yes" if word in text.split() else "no"
    hour = opens - 12 if opens > 12 else opens
    return [
        Turn("yes_no", f"Does this sign say '{word}'? Answer yes or no.",
             f"{answer.capitalize()}.", _kw((answer,)), (sign,)),
        Turn("ocr", "What time does it say?", f"It says {hour}.", _num(hour), refers_to=(0,)),
        Turn("yes_no", "Is that time in the afternoon or evening? Answer yes or no.",
             "Yes." if opens >= 12 else "No.", _kw(("yes",) if opens >= 12 else ("no",)),
             refers_to=(0,)),
    ]


BLUEPRINTS_V2: dict[str, Callable[[random.Random], list[Turn]]] = {
    **BLUEPRINTS,
    "greet": bp_greet,
    "transcribe": bp_transcribe,
    "translate": bp_translate,
    "reasoning": bp_reasoning,
    "yes_no": bp_yes_no,
}


def generate_v2(seed: int = 0, min_dialogues: int = 150, min_turns: int = 500) -> list[Dialogue]:
    """v1's dealing (seeded rounds over every blueprint, a U{2..5} prefix of each script)."""
    return generate(seed, min_dialogues, min_turns, BLUEPRINTS_V2)
