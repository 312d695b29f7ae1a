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

Tasks (`TASKS`): image_qa, ocr, speech, factual, summarise, rewrite, recommend, arithmetic.
The same seed always gives the same dialogues (only `random.Random(seed)` is used).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.bench.media import PALETTE, PHOTOS, MediaSpec
from policies.bench.scoring import Rule

SCENARIO_VERSION = "1"
MAX_ATTACHMENTS = 3

Task = Literal[
    "image_qa", "ocr", "speech", "factual", "summarise", "rewrite", "recommend", "arithmetic"
]
TASKS: tuple[str, ...] = (
    "image_qa", "ocr", "speech", "factual", "summarise", "rewrite", "recommend", "arithmetic"
)


@dataclass(frozen=True)
class Turn:
    """One person's message, what it needs, and how its answer is scored."""

    task: str
    prompt: str
    reference: str
    rule: Rule
    attachments: tuple[MediaSpec, ...] = ()
    relevant: tuple[bool, ...] = ()
    question: str = ""  # the question as asked (for spoken turns: the words in the audio)
    refers_to: tuple[int, ...] = ()  # earlier turns this one depends on

    def __post_init__(self) -> None:
        if len(self.attachments) > MAX_ATTACHMENTS:
            raise ValueError(f"at most {MAX_ATTACHMENTS} attachments per turn")
        if not self.relevant and self.attachments:
            object.__setattr__(self, "relevant", tuple(True for _ in self.attachments))
        if not self.question:
            object.__setattr__(self, "question", self.prompt)


@dataclass(frozen=True)
class Dialogue:
    id: str
    blueprint: str
    turns: tuple[Turn, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- small fact banks

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]

FACTS: list[tuple[str, tuple[tuple[str, ...], ...], str]] = [
    ("What is the capital of France?", (("paris",),), "The capital of France is Paris."),
    ("What is the capital of Japan?", (("tokyo",),), "The capital of Japan is Tokyo."),
    ("What is the capital of Italy?", (("rome",),), "The capital of Italy is Rome."),
    ("What is the capital of Germany?", (("berlin",),), "The capital of Germany is Berlin."),
    ("What is the capital of Spain?", (("madrid",),), "The capital of Spain is Madrid."),
    ("What is the capital of Egypt?", (("cairo",),), "The capital of Egypt is Cairo."),
    ("What is the capital of Canada?", (("ottawa",),), "The capital of Canada is Ottawa."),
    ("What is the largest planet in the solar system?", (("jupiter",),),
     "Jupiter is the largest planet in the solar system."),
    ("Which planet is known as the Red Planet?", (("mars",),), "Mars is the Red Planet."),
    ("What gas do plants absorb from the air?", (("carbon dioxide", "co2"),),
     "Plants absorb carbon dioxide (CO2) from the air."),
    ("What is the chemical symbol for water?", (("h2o",),), "The chemical formula of water is H2O."),
    ("How many days are in a leap year?", (("366",),), "A leap year has 366 days."),
    ("Who wrote Romeo and Juliet?", (("shakespeare",),),
     "Romeo and Juliet was written by William Shakespeare."),
    ("What is the largest ocean on Earth?", (("pacific",),),
     "The Pacific Ocean is the largest ocean on Earth."),
    ("What is the freezing point of water in degrees Celsius?", (("0", "zero"),),
     "Water freezes at 0 degrees Celsius."),
    ("How many continents are there?", (("7", "seven"),), "There are seven continents."),
    ("What is the tallest mountain in the world?", (("everest",),),
     "Mount Everest is the tallest mountain in the world."),
    ("Which animal is known as the king of the jungle?", (("lion",),),
     "The lion is called the king of the jungle."),
    ("What language is mainly spoken in Brazil?", (("portuguese",),),
     "Most people in Brazil speak Portuguese."),
    ("What is the longest river in Africa?", (("nile",),), "The Nile is the longest river in Africa."),
    ("Who painted the Mona Lisa?", (("leonardo", "da vinci"),),
     "The Mona Lisa was painted by Leonardo da Vinci."),
    ("What is the boiling point of water in degrees Celsius at sea level?", (("100",),),
     "Water boils at 100 degrees Celsius at sea level."),
    ("How many legs does a spider have?", (("8", "eight"),), "A spider has eight legs."),
    ("What is the currency of the United Kingdom?", (("pound", "sterling"),),
     "The currency of the United Kingdom is the pound sterling."),
    ("Which element has the chemical symbol O?", (("oxygen",),), "O is the symbol for oxygen."),
    ("What is the smallest prime number?", (("2", "two"),), "The smallest prime number is 2."),
]

# Photo subject -> (keyword groups, a follow-up fact, a recommendation request and reference).
PHOTO_FACTS: dict[str, dict[str, Any]] = {
    "chelsea": {
        "groups": (("cat", "kitten", "kitty", "feline", "tabby"),),
        "fact": ("How many legs does the animal in the photo have?", Rule("number", 4.0),
                 "A cat has four legs."),
        "rec": ("Recommend a few good names for a pet like the one in the photo.",
                "For a cat like this, names such as Whiskers, Luna, Milo or Tiger would suit."),
    },
    "coffee": {
        "groups": (("coffee", "espresso", "cappuccino", "latte"), ("cup", "mug")),
        "fact": ("Which country produces the most of the drink in the photo?",
                 Rule("keywords", groups=(("brazil",),)), "Brazil produces the most coffee."),
        "rec": ("Recommend a pastry to go with the drink in the photo.",
                "A butter croissant or an almond biscotti goes well with a cup of coffee."),
    },
    "astronaut": {
        "groups": (("astronaut", "spacesuit", "space suit", "cosmonaut"),),
        "fact": ("Who was the first person to walk on the Moon?",
                 Rule("keywords", groups=(("armstrong",),)),
                 "Neil Armstrong was the first person to walk on the Moon, in 1969."),
        "rec": ("Recommend a book for someone who likes what is in the photo.",
                "Try The Martian by Andy Weir, a novel about an astronaut stranded on Mars."),
    },
    "rocket": {
        "groups": (("rocket", "space shuttle", "launch"),),
        "fact": ("What force pulls the object in the photo back towards Earth?",
                 Rule("keywords", groups=(("gravity", "gravitational"),)),
                 "Gravity pulls a rocket back towards Earth."),
        "rec": ("Recommend a museum for someone who loves what is in the photo.",
                "Visit the Kennedy Space Center or the Smithsonian Air and Space Museum to see "
                "real rockets."),
    },
    "camera": {
        "groups": (("camera", "photographer", "tripod"),),
        "fact": ("What does the word photography mean in Greek, roughly?",
                 Rule("keywords", groups=(("light",), ("draw", "writ", "drawing", "writing"))),
                 "Photography means drawing or writing with light."),
        "rec": ("Recommend a hobby for someone who likes what the man in the photo is doing.",
                "Street photography or joining a local photography club would suit someone "
                "who likes taking pictures with a camera."),
    },
    "moon": {
        "groups": (("moon", "lunar"),),
        "fact": ("About how many days does the object in the photo take to orbit Earth?",
                 Rule("number", 27.3, tolerance=2.0),
                 "The Moon takes about 27.3 days to orbit Earth."),
        "rec": ("Recommend a way to see the object in the photo up close at home.",
                "Use a small telescope or good binoculars to look at the Moon's craters at home."),
    },
    "clock": {
        "groups": (("clock", "watch", "time"),),
        "fact": ("How many minutes are there in the number of hours a clock face shows?",
                 Rule("number", 720.0), "A clock face shows 12 hours, which is 720 minutes."),
        "rec": ("Recommend a way to stop being late, given what is in the photo.",
                "Set your clock five minutes fast and use alarms to leave on time."),
    },
    "coins": {
        "groups": (("coin", "coins", "money", "currency"),),
        "fact": ("How many cents are in one US dollar?", Rule("number", 100.0),
                 "There are 100 cents in one US dollar."),
        "rec": ("Recommend a way to save more of what is in the photo.",
                "Keep a coin jar and move a fixed amount into a savings account every month."),
    },
    "hubble_deep_field": {
        "groups": (("galaxy", "galaxies", "stars", "space", "universe", "nebula"),),
        "fact": ("What is the name of the galaxy we live in?",
                 Rule("keywords", groups=(("milky way",),)), "We live in the Milky Way galaxy."),
        "rec": ("Recommend a documentary about what is in the photo.",
                "Watch Cosmos: A Spacetime Odyssey, a documentary about galaxies and space."),
    },
    "horse": {
        "groups": (("horse", "pony", "stallion", "mare"),),
        "fact": ("What is a baby of the animal in the picture called?",
                 Rule("keywords", groups=(("foal", "colt", "filly"),)),
                 "A baby horse is called a foal."),
        "rec": ("Recommend a family activity related to the animal in the picture.",
                "Try a guided pony trek or a riding lesson at a local stables."),
    },
}

PROCESSES: list[tuple[str, list[str]]] = [
    ("Making tea", ["Boil water", "Add tea bag", "Steep 3 minutes", "Remove bag", "Add milk"]),
    ("Planting a seed", ["Fill pot with soil", "Press seed in", "Water gently", "Place in sun"]),
    ("Sending a parcel", ["Pack the item", "Weigh the box", "Print label", "Drop at post office"]),
    ("Baking bread", ["Mix flour and yeast", "Knead dough", "Let it rise", "Shape loaf", "Bake"]),
    ("Fixing a bug", ["Reproduce it", "Write a test", "Fix the code", "Run all tests",
                      "Open a pull request"]),
    ("Washing clothes", ["Sort by colour", "Add detergent", "Run the wash", "Hang to dry"]),
    ("Booking a trip", ["Pick dates", "Compare flights", "Book hotel", "Pack bags"]),
]

SIGNS: list[tuple[list[str], tuple[tuple[str, ...], ...], int]] = [
    (["CLOSED FOR CLEANING", "OPEN AGAIN AT 3 PM"], (("closed",), ("cleaning",), ("3",)), 15),
    (["PLATFORM 4 DELAYED", "NEXT TRAIN AT 6 PM"], (("platform",), ("delayed",), ("6",)), 18),
    (["WET PAINT", "DO NOT TOUCH UNTIL 5 PM"], (("wet",), ("paint",), ("5",)), 17),
    (["GARAGE SALE TODAY", "STARTS AT 9 AM"], (("garage",), ("sale",), ("9",)), 9),
    (["POOL CLOSED", "REOPENS AT 2 PM"], (("pool",), ("closed",), ("2",)), 14),
    (["LIBRARY QUIET ZONE", "DOORS CLOSE AT 8 PM"], (("library",), ("quiet",), ("8",)), 20),
]

SHOP_ITEMS = [("Bread", 2.40), ("Milk", 1.15), ("Eggs", 3.20), ("Apples", 2.75), ("Cheese", 4.60),
              ("Coffee", 6.90), ("Pasta", 1.80), ("Tomatoes", 2.10), ("Butter", 2.95),
              ("Rice", 3.30)]
PASSWORD_WORDS = ["sunflower", "maple", "harbor", "violet", "falcon", "cobalt", "meadow", "tiger"]

RUDE_MESSAGES: list[tuple[str, str, str]] = [
    ("send me the report now",
     "more polite",
     "Could you please send me the report when you have a moment? Thank you!"),
    ("hey, can't make it tmrw, sorry",
     "more formal",
     "Hello, I am sorry, but I will not be able to attend tomorrow. Thank you for understanding."),
    ("ur late again. fix it.",
     "kinder",
     "I noticed you were late again; is everything okay? Let's find a way to help you be on "
     "time."),
    ("need the keys back asap",
     "more polite",
     "Would you mind returning the keys as soon as you can? Thanks a lot."),
    ("meeting moved to 4, dont be late",
     "more professional",
     "Please note that the meeting has been moved to 4 pm. I look forward to seeing you on time."),
    ("why didnt u reply to my email",
     "friendlier",
     "Hi! Just checking whether you saw my email; I'd love to hear back when you have time."),
]

EMAILS: list[tuple[str, str]] = [
    ("Hi all, the office will be closed on Friday for the public holiday. Please finish your "
     "timesheets by Thursday noon, and remember that the server maintenance is scheduled for "
     "Saturday morning, so save your work before you leave.",
     "The office is closed on Friday, timesheets are due Thursday noon, and server maintenance "
     "is on Saturday morning."),
    ("Dear parents, the school trip to the science museum is on 12 May. The bus leaves at 8:30 "
     "and returns at 4. Children need a packed lunch and a signed permission form by Monday.",
     "The school trip to the science museum is on 12 May, 8:30 to 4, and needs a packed lunch "
     "and a signed form by Monday."),
    ("Team, our sales grew by 12 percent this quarter, mostly thanks to the new online shop. "
     "Returns are still high, so next quarter we will focus on better product photos and "
     "sizing guides.",
     "Sales grew 12 percent this quarter thanks to the online shop; next quarter focuses on "
     "reducing returns with better photos and sizing guides."),
    ("Hello, your order 4471 has shipped and should arrive within three working days. If you "
     "are not at home, the courier will leave a card and try again the next day.",
     "Order 4471 has shipped and should arrive in three working days; the courier retries the "
     "next day if you are out."),
]

REC_REQUESTS: list[tuple[str, str]] = [
    ("Recommend a family-friendly animated movie for this weekend.",
     "Try Toy Story or Finding Nemo: funny, warm animated films the whole family can enjoy."),
    ("Recommend a beginner-friendly programming language.",
     "Python is a great first programming language: its syntax is simple and readable."),
    ("Recommend a healthy breakfast I can make in five minutes.",
     "Greek yoghurt with fruit and oats, or a banana with peanut butter on wholegrain toast."),
    ("Recommend a good exercise to do at home without equipment.",
     "Bodyweight squats, push-ups and planks are effective exercises you can do at home."),
    ("Recommend a classic novel for a long train journey.",
     "Pride and Prejudice by Jane Austen is an engaging classic novel for a long journey."),
    ("Recommend a houseplant that is hard to kill.",
     "A snake plant or a pothos: both tolerate low light and irregular watering."),
]


# ---------------------------------------------------------------- helpers


def _num(value: float, tol: float = 1e-6) -> Rule:
    return Rule("number", float(value), tolerance=tol)


def _kw(*groups: tuple[str, ...]) -> Rule:
    return Rule("keywords", groups=tuple(groups))


def _sim(reference: str) -> Rule:
    return Rule("similarity", reference=reference)


def _fmt(x: float) -> str:
    return f"{x:.2f}" if x != int(x) else str(int(x))


def _photo(rng: random.Random, exclude: tuple[str, ...] = ()) -> tuple[str, MediaSpec]:
    name = rng.choice(sorted(k for k in PHOTOS if k not in exclude))
    return name, MediaSpec("photo", {"name": name}, f"photo of {PHOTOS[name]}")


def _speech(text: str) -> MediaSpec:
    return MediaSpec("speech", {"text": text}, f"spoken: {text}")


def _chart(rng: random.Random) -> tuple[MediaSpec, list[str], list[int], list[str]]:
    n = rng.randint(4, 6)
    start = rng.randint(0, 12 - n)
    labels = MONTHS[start : start + n]
    values = rng.sample(range(12, 96), n)  # distinct, so "highest" has one answer
    colours = rng.sample(sorted(PALETTE), n)
    title = rng.choice(["Monthly sales", "Visitors per month", "Rainfall (mm)", "Orders"])
    spec = MediaSpec("bar_chart", {"title": title, "labels": labels, "values": values,
                                   "colours": colours},
                     f"bar chart '{title}' for {labels[0]}-{labels[-1]}")
    return spec, labels, values, colours


def _month_group(label: str) -> tuple[str, ...]:
    return (MONTH_NAMES[MONTHS.index(label)].lower(), label.lower())


def _receipt(rng: random.Random) -> tuple[MediaSpec, float]:
    items = rng.sample(SHOP_ITEMS, rng.randint(3, 5))
    total = round(sum(p for _, p in items), 2)
    lines = ["CORNER SHOP"] + [f"{n:<10}{p:>7.2f}" for n, p in items] + [f"{'TOTAL':<10}{total:>7.2f}"]
    spec = MediaSpec("text_picture", {"style": "receipt", "lines": lines},
                     f"receipt totalling {total:.2f}")
    return spec, total


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


def generate(seed: int = 0, min_dialogues: int = 100, min_turns: int = 352) -> list[Dialogue]:
    """At least `min_dialogues` dialogues and `min_turns` turns, the same for the same seed.

    Blueprints are dealt in seeded rounds (each round uses every blueprint once, shuffled), and
    each dialogue keeps a seeded prefix of min(len(script), U{2..5}) of its blueprint's turns.
    """
    rng = random.Random(seed)
    dialogues: list[Dialogue] = []
    turns = 0
    while len(dialogues) < min_dialogues or turns < min_turns:
        order = sorted(BLUEPRINTS)
        rng.shuffle(order)
        for name in order:
            script = BLUEPRINTS[name](rng)
            keep = min(len(script), rng.randint(2, 5))
            kept = tuple(script[:keep])
            dialogues.append(Dialogue(f"d{len(dialogues):04d}", name, kept))
            turns += len(kept)
    return dialogues
