"""Seeded generation of LCIO-Bench dialogues: multi-modal, multi-task, multi-turn, checkable.

`generate(seed)` returns at least 100 dialogues and 352 turns (M4A1's size), 2-5 turns each,
built from blueprints. Every fact a question asks about is made here, so the reference is
known exactly: arithmetic is computed, chart values and colours are drawn from the seeded
RNG, text in pictures is written by us, photos are scikit-image samples whose subject is
known, and spoken requests carry the question itself (the prompt only says "answer my voice
message"), so a model that does not hear the audio cannot know what was asked.

Later turns refer to earlier ones ("that number", "the chart I sent") and to earlier
attachments; `Turn.refers_to` lists the turns they depend on. Some turns carry attachments
that are not needed (`Turn.relevant` is False for them), so choosing a subset matters.

Tasks (`TASKS`, in `turns.py` with the `Turn` and `Dialogue` types): v1's blueprints here ask
image_qa, ocr, speech, factual, summarise, rewrite, recommend and arithmetic; v2 adds five
(`scenarios_v2.py`).
The same seed always gives the same dialogues (only `random.Random(seed)` is used).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lab.bench.facts import (
    EMAILS,
    FACTS,
    MONTH_NAMES,
    MONTHS,
    PASSWORD_WORDS,
    PHOTO_FACTS,
    PROCESSES,
    REC_REQUESTS,
    RUDE_MESSAGES,
    SIGNS,
)
from lab.bench.media import PALETTE, PHOTOS, MediaSpec
from lab.bench.scenario_parts import (
    _chart,
    _fmt,
    _kw,
    _month_group,
    _num,
    _photo,
    _receipt,
    _sim,
    _speech,
)
from lab.bench.scoring import Rule
from lab.bench.turns import (  # noqa: F401 (re-exported: the bench's callers import them here)
    MAX_ATTACHMENTS,
    TASKS,
    Dialogue,
    Task,
    Turn,
)

SCENARIO_VERSION = "1"

# ---------------------------------------------------------------- blueprints
# Each returns a full script (2-5 turns); `generate` keeps a seeded prefix of it.


def bp_chart(rng: random.Random) -> list[Turn]:
    chart, labels, values, colours = _chart(rng)
    top = labels[values.index(max(values))]
    low = labels[values.index(min(values))]
    pick = rng.randrange(len(labels))
    a, b = rng.sample(range(len(labels)), 2)
    title = chart.params["title"]
    summary = (f"The chart '{title}' covers {MONTH_NAMES[MONTHS.index(labels[0])]} to "
               f"{MONTH_NAMES[MONTHS.index(labels[-1])]}, highest in {top} ({max(values)}) and "
               f"lowest in {low} ({min(values)}).")
    extra: tuple[MediaSpec, ...] = ()
    relevant: tuple[bool, ...] = (True,)
    if rng.random() < 0.35:  # an unrelated photo sent along with the chart
        extra, relevant = (_photo(rng)[1],), (True, False)
    return [
        Turn("image_qa", "Which month has the highest value in this chart?",
             f"{MONTH_NAMES[MONTHS.index(top)]} has the highest value, {max(values)}.",
             _kw(_month_group(top)), (chart, *extra), relevant),
        Turn("image_qa", f"And what colour was the bar for {MONTH_NAMES[MONTHS.index(labels[pick])]} "
             "in the chart I sent?",
             f"The bar for {MONTH_NAMES[MONTHS.index(labels[pick])]} is {colours[pick]}.",
             _kw((colours[pick],)), refers_to=(0,)),
        Turn("arithmetic", f"What do {labels[a]} and {labels[b]} add up to in that chart?",
             f"{labels[a]} is {values[a]} and {labels[b]} is {values[b]}, so together "
             f"{values[a] + values[b]}.", _num(values[a] + values[b]), refers_to=(0,)),
        Turn("summarise", "Summarise what the chart shows in one sentence.", summary,
             _sim(summary), refers_to=(0,)),
        Turn("rewrite", "Rewrite that summary as a short, friendly message to my team.",
             f"Hi team! Quick update: {summary[0].lower()}{summary[1:]} Thanks!",
             _sim(f"Hi team! Quick update: {summary}"), refers_to=(3,)),
    ]


def bp_photo(rng: random.Random) -> list[Turn]:
    name, photo = _photo(rng)
    facts = PHOTO_FACTS[name]
    fact_q, fact_rule, fact_ref = facts["fact"]
    rec_q, rec_ref = facts["rec"]
    rude, tone, polite = rng.choice(RUDE_MESSAGES)
    first = Turn("image_qa", "What is shown in this photo?",
                 f"The photo shows {PHOTOS[name]}.", _kw(*facts["groups"]), (photo,))
    turns = [first,
             Turn("factual", fact_q, fact_ref, fact_rule, refers_to=(0,)),
             Turn("recommend", rec_q, rec_ref, _sim(rec_ref), refers_to=(0,))]
    if rng.random() < 0.5:  # the person sends the same photo again with a new question
        turns.append(Turn("image_qa", "Here it is again: describe it in a few words.",
                          f"It is a photo of {PHOTOS[name]}.", _kw(*facts["groups"]), (photo,),
                          refers_to=(0,)))
    turns.append(Turn("rewrite", f"Rewrite this message to be {tone}: '{rude}'", polite,
                      _sim(polite)))
    return turns


def bp_sign(rng: random.Random) -> list[Turn]:
    lines, groups, opens = rng.choice(SIGNS)
    sign = MediaSpec("text_picture", {"style": "sign", "lines": lines}, "sign: " + " / ".join(lines))
    now = opens - rng.randint(1, 4)
    said = f"The sign says: {lines[0].capitalize()}. {lines[1].capitalize()}."
    msg = f"Heads up: the sign says {lines[0].lower()}, {lines[1].lower()}."
    hour = lambda h: f"{h - 12 if h > 12 else h} {'PM' if h >= 12 else 'AM'}"  # noqa: E731
    return [
        Turn("ocr", "What does this sign say?", said, _kw(*groups), (sign,)),
        Turn("arithmetic", f"It's {hour(now)} now. How many hours do I have to wait?",
             f"From {hour(now)} to {hour(opens)} is {opens - now} hours.", _num(opens - now),
             refers_to=(0,)),
        Turn("rewrite", "Write a short message telling my friend what the sign said.", msg,
             _sim(msg), refers_to=(0,)),
    ]


def bp_receipt(rng: random.Random) -> list[Turn]:
    receipt, total = _receipt(rng)
    people = rng.randint(2, 4)
    share = round(total / people, 2)
    ask = (f"Hi everyone! The shopping came to {total:.2f}, so your share is {share:.2f}. "
           "Could you send it when you get a chance? Thanks!")
    turns = [
        Turn("ocr", "What is the total on this receipt?", f"The total is {total:.2f}.",
             _num(total, 0.005), (receipt,)),
        Turn("arithmetic", f"Split that between {people} people: how much does each pay?",
             f"{total:.2f} / {people} = {share:.2f} each.", _num(share, 0.011), refers_to=(0,)),
        Turn("rewrite", "Write a polite message asking my friends to pay me their share.", ask,
             _sim(ask), refers_to=(1,)),
    ]
    if rng.random() < 0.6:
        second, total2 = _receipt(rng)
        both = round(total + total2, 2)
        turns.append(Turn("ocr", "Here's another receipt. What do both receipts add up to?",
                          f"{total:.2f} + {total2:.2f} = {both:.2f}.", _num(both, 0.011),
                          (second,), refers_to=(0,)))
    return turns


def bp_note(rng: random.Random) -> list[Turn]:
    password = f"{rng.choice(PASSWORD_WORDS).capitalize()}{rng.randint(10, 99)}"
    network = rng.choice(["HomeNet", "CafeGuest", "Office5G", "Library"])
    note = MediaSpec("text_picture", {"style": "note", "lines": [f"Wi-Fi: {network}",
                                                                  f"Password: {password}"]},
                     f"note with Wi-Fi {network} password {password}")
    _, photo = _photo(rng)
    text = f"The Wi-Fi network is {network} and the password is {password}."
    return [
        Turn("ocr", "What is the Wi-Fi password on this note?", f"The password is {password}.",
             Rule("exact", text=password), (photo, note), (False, True)),
        Turn("ocr", "And what is the network called?", f"The network is {network}.",
             Rule("exact", text=network), refers_to=(0,)),
        Turn("rewrite", "Write a short message to a guest with the Wi-Fi details.", text,
             _sim(text), refers_to=(0, 1)),
    ]


def bp_problem(rng: random.Random) -> list[Turn]:
    x, y = rng.randint(12, 89), rng.randint(12, 89)
    op = rng.choice(["+", "x"])
    result = x + y if op == "+" else x * y
    pic = MediaSpec("text_picture", {"style": "problem", "lines": ["Homework:",
                                                                   f"{x} {op} {y} = ?"]},
                    f"homework problem {x} {op} {y}")
    k = rng.randint(2, 9)
    return [
        Turn("ocr", "Can you solve the problem in this picture?", f"{x} {op} {y} = {result}.",
             _num(result), (pic,), question=f"{x} {op} {y} = ?"),
        Turn("arithmetic", f"Now multiply that answer by {k}.", f"{result} x {k} = {result * k}.",
             _num(result * k), refers_to=(0,), question=f"multiply that answer by {k}"),
        Turn("summarise", "Explain in one sentence how you got the first answer.",
             f"I read {x} {op} {y} from the picture and computed it to get {result}.",
             _sim(f"I read {x} {op} {y} from the picture and computed it to get {result}."),
             refers_to=(0,)),
    ]


def bp_diagram(rng: random.Random) -> list[Turn]:
    title, steps = rng.choice(PROCESSES)
    diagram = MediaSpec("diagram", {"title": title, "steps": steps}, f"flow diagram: {title}")
    i = rng.randrange(len(steps) - 1)
    summary = f"{title}: " + ", then ".join(s.lower() for s in steps) + "."
    words = lambda s: tuple((w.lower(),) for w in s.split() if len(w) > 3) or ((s.lower(),),)  # noqa: E731
    return [
        Turn("image_qa", "What is the first step in this diagram?", f"The first step is '{steps[0]}'.",
             _kw(*words(steps[0])), (diagram,)),
        Turn("image_qa", f"What comes right after '{steps[i]}' in the diagram?",
             f"After '{steps[i]}' comes '{steps[i + 1]}'.", _kw(*words(steps[i + 1])),
             refers_to=(0,)),
        Turn("arithmetic", "How many steps does the diagram have in total?",
             f"It has {len(steps)} steps.", _num(len(steps)), refers_to=(0,)),
        Turn("summarise", "Summarise the whole process in one sentence.", summary, _sim(summary),
             refers_to=(0,)),
    ]


def bp_shapes(rng: random.Random) -> list[Turn]:
    circles = rng.randint(2, 6)
    colour_c, colour_t, colour_s = rng.sample(sorted(PALETTE), 3)
    squares = rng.randint(1, 3)
    positions = rng.sample([(x, y) for x in range(60, 520, 80) for y in range(60, 360, 80)],
                           circles + squares + 1)
    shapes = ([("circle", colour_c, *positions[i]) for i in range(circles)]
              + [("square", colour_s, *positions[circles + i]) for i in range(squares)]
              + [("triangle", colour_t, *positions[-1])])
    pic = MediaSpec("shapes", {"shapes": [list(s) for s in shapes]},
                    f"{circles} {colour_c} circles, {squares} {colour_s} squares, "
                    f"a {colour_t} triangle")
    more = rng.randint(2, 5)
    return [
        Turn("image_qa", "How many circles are in this picture?", f"There are {circles} circles.",
             _num(circles), (pic,)),
        Turn("image_qa", "What colour is the triangle?", f"The triangle is {colour_t}.",
             _kw((colour_t,)), refers_to=(0,)),
        Turn("arithmetic", f"If I drew {more} more circles, how many circles would there be?",
             f"{circles} + {more} = {circles + more} circles.", _num(circles + more),
             refers_to=(0,)),
    ]


def bp_voice(rng: random.Random) -> list[Turn]:
    turns: list[Turn] = []
    if rng.random() < 0.5:
        x, y = rng.randint(3, 19), rng.randint(3, 19)
        spoken = f"What is {x} times {y}?"
        turns.append(Turn("speech", "Please answer the question in my voice message.",
                          f"{x} times {y} is {x * y}.", _num(x * y), (_speech(spoken),),
                          question=spoken))
        k = rng.randint(5, 50)
        turns.append(Turn("arithmetic", f"Now add {k} to that.", f"{x * y} + {k} = {x * y + k}.",
                          _num(x * y + k), refers_to=(0,), question=f"add {k} to that"))
    else:
        q, groups, ref = rng.choice(FACTS)
        turns.append(Turn("speech", "Can you answer what I asked in the recording?", ref,
                          _kw(*groups), (_speech(q),), question=q))
        turns.append(Turn("summarise", "Repeat my question and your answer in one sentence.",
                          f"You asked: {q} {ref}", _sim(f"You asked: {q} {ref}"), refers_to=(0,)))
    q2, groups2, ref2 = rng.choice(FACTS)
    turns.append(Turn("speech", "One more voice question, please answer it.", ref2, _kw(*groups2),
                      (_speech(q2),), question=q2))
    return turns


def bp_multi(rng: random.Random) -> list[Turn]:
    """Several attachments at once; only some are needed to answer."""
    lines, groups, _ = rng.choice(SIGNS)
    sign = MediaSpec("text_picture", {"style": "sign", "lines": lines}, "sign: " + " / ".join(lines))
    name, photo = _photo(rng)
    facts = PHOTO_FACTS[name]
    if rng.random() < 0.5:
        spoken = "What does the sign in my pictures say?"
        first = Turn("speech", "Listen to my voice note and answer it using the pictures.",
                     f"The sign says: {' '.join(lines).capitalize()}.", _kw(*groups),
                     (photo, sign, _speech(spoken)), (False, True, True), question=spoken)
    else:
        spoken = "What is shown in the photo I sent?"
        first = Turn("speech", "Listen to my voice note and answer it using the pictures.",
                     f"The photo shows {PHOTOS[name]}.", _kw(*facts["groups"]),
                     (photo, sign, _speech(spoken)), (True, False, True), question=spoken)
    chart, labels, values, _ = _chart(rng)
    low = labels[values.index(min(values))]
    rec_q, rec_ref = rng.choice(REC_REQUESTS)
    return [
        first,
        Turn("image_qa", "In this chart, which month has the lowest value?",
             f"{MONTH_NAMES[MONTHS.index(low)]} has the lowest value, {min(values)}.",
             _kw(_month_group(low)), (chart, photo), (True, False)),
        Turn("recommend", rec_q, rec_ref, _sim(rec_ref)),
        Turn("image_qa", "Going back to the sign I sent first: what were its first two words?",
             f"The first two words were '{' '.join(lines[0].split()[:2]).capitalize()}'.",
             _kw(*((w.lower(),) for w in lines[0].split()[:2])), refers_to=(0,)),
    ]


def bp_factual(rng: random.Random) -> list[Turn]:
    (q1, g1, r1), (q2, g2, r2) = rng.sample(FACTS, 2)
    summary = f"{r1} {r2}"
    rec_q, rec_ref = rng.choice(REC_REQUESTS)
    x, y, z = rng.randint(100, 999), rng.randint(10, 99), rng.randint(2, 9)
    return [
        Turn("factual", q1, r1, _kw(*g1)),
        Turn("factual", q2, r2, _kw(*g2)),
        Turn("summarise", "Summarise both of your answers in one sentence.", summary,
             _sim(summary), refers_to=(0, 1)),
        Turn("arithmetic", f"Quick one: what is {x} - {y} * {z}?", f"{x} - {y * z} = {x - y * z}.",
             _num(x - y * z)),
        Turn("recommend", rec_q, rec_ref, _sim(rec_ref)),
    ]


def bp_editing(rng: random.Random) -> list[Turn]:
    email, summary = rng.choice(EMAILS)
    rude, tone, polite = rng.choice(RUDE_MESSAGES)
    short = polite.split(". ")[0].rstrip(".!") + "."
    subject = "Subject: " + summary.split(",")[0].split(";")[0]
    return [
        Turn("summarise", f"Summarise this email in one sentence: {email}", summary, _sim(summary)),
        Turn("recommend", "Recommend a short subject line for that email.", subject, _sim(subject),
             refers_to=(0,)),
        Turn("rewrite", f"Rewrite this message to be {tone}: '{rude}'", polite, _sim(polite)),
        Turn("rewrite", "Now make it shorter.", short, _sim(short), refers_to=(2,)),
    ]


def bp_recommend(rng: random.Random) -> list[Turn]:
    (q1, r1), (q2, r2) = rng.sample(REC_REQUESTS, 2)
    people, price = rng.randint(2, 6), rng.choice([7.5, 9.0, 12.0, 15.5])
    total = people * price
    return [
        Turn("recommend", q1, r1, _sim(r1)),
        Turn("arithmetic", f"If it costs {_fmt(price)} dollars per person and we are {people}, "
             "what is the total?", f"{people} x {_fmt(price)} = {_fmt(total)} dollars.",
             _num(total, 0.005)),
        Turn("recommend", q2, r2, _sim(r2)),
    ]


BLUEPRINTS: dict[str, Callable[[random.Random], list[Turn]]] = {
    "chart": bp_chart,
    "photo": bp_photo,
    "sign": bp_sign,
    "receipt": bp_receipt,
    "note": bp_note,
    "problem": bp_problem,
    "diagram": bp_diagram,
    "shapes": bp_shapes,
    "voice": bp_voice,
    "multi": bp_multi,
    "factual": bp_factual,
    "editing": bp_editing,
    "recommend": bp_recommend,
}


def generate(seed: int = 0, min_dialogues: int = 100, min_turns: int = 352,
             blueprints: dict[str, Callable[[random.Random], list[Turn]]] | None = None
             ) -> list[Dialogue]:
    """At least `min_dialogues` dialogues and `min_turns` turns, the same for the same seed.

    Blueprints (v1's by default) are dealt in seeded rounds (each round uses every blueprint
    once, shuffled), and each dialogue keeps a seeded prefix of min(len(script), U{2..5}) of
    its blueprint's turns.
    """
    blueprints = BLUEPRINTS if blueprints is None else blueprints
    rng = random.Random(seed)
    dialogues: list[Dialogue] = []
    turns = 0
    while len(dialogues) < min_dialogues or turns < min_turns:
        order = sorted(blueprints)
        rng.shuffle(order)
        for name in order:
            script = blueprints[name](rng)
            keep = min(len(script), rng.randint(2, 5))
            kept = tuple(script[:keep])
            dialogues.append(Dialogue(f"d{len(dialogues):04d}", name, kept))
            turns += len(kept)
    return dialogues
