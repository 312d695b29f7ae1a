"""Charts and receipts for v3: drawn from a seeded RNG, so every reference is computed.

Each family has its own questions; its dialogues differ in the chart or receipt they carry
(and the values their prompts name). Some come with an unrelated photo best left out."""

from __future__ import annotations

import random
from collections.abc import Callable

from lab.bench.facts import MONTH_NAMES, MONTHS
from lab.bench.media import PALETTE, PHOTOS, MediaSpec
from lab.bench.v3.items import Family, Item, kw, num

GROCERIES = [("Oat milk", 1.95), ("Spinach", 1.49), ("Lemons", 2.20), ("Yoghurt", 2.85),
             ("Chickpeas", 0.89), ("Salmon", 7.40), ("Granola", 3.65), ("Peppers", 2.30),
             ("Honey", 4.15), ("Onions", 1.10)]
CAFE = [("Latte", 3.80), ("Croissant", 2.60), ("Tea", 2.20), ("Muffin", 2.90),
        ("Bagel", 3.40), ("Orange juice", 3.10), ("Espresso", 2.40), ("Soup", 5.50)]
HARDWARE = [("Hammer", 12.99), ("Screws", 4.25), ("Paint", 18.50), ("Brush", 6.75),
            ("Tape", 3.20), ("Light bulb", 5.60), ("Glue", 2.95), ("Gloves", 8.40)]


def _unrelated(rng: random.Random, p: float) -> tuple[tuple[MediaSpec, ...], tuple[bool, ...]]:
    if rng.random() >= p:
        return (), ()
    name = rng.choice(sorted(PHOTOS))
    return (MediaSpec("photo", {"name": name}, f"photo of {PHOTOS[name]}"),), (False,)


def _month(label: str) -> str:
    return MONTH_NAMES[MONTHS.index(label)]


def _month_words(label: str) -> str:
    return f"{_month(label).lower()}|{label.lower()}"


def _chart(rng: random.Random, title: str) -> tuple[MediaSpec, list[str], list[int], list[str]]:
    n = rng.randint(4, 6)
    start = rng.randint(0, 12 - n)
    labels = MONTHS[start:start + n]
    values = rng.sample(range(12, 96), n)
    colours = rng.sample(sorted(PALETTE), n)
    spec = MediaSpec("bar_chart", {"title": title, "labels": labels, "values": values,
                                   "colours": colours},
                     f"bar chart '{title}' for {labels[0]}-{labels[-1]}")
    return spec, labels, values, colours


def _with(item: Item, spec: MediaSpec, rng: random.Random) -> Item:
    extra, rel = _unrelated(rng, 0.3)
    return Item(item.prompt, item.reference, item.rule, item.then, (spec, *extra), (True, *rel))


def chart_sales(rng: random.Random) -> Item:
    spec, labels, values, _ = _chart(rng, "Monthly sales")
    top = labels[values.index(max(values))]
    pick = rng.randrange(len(labels))
    return _with(kw("In which month did we sell the most, going by this chart?",
                    f"{_month(top)}, with {max(values)}.", _month_words(top), then=(
        num(f"How many did we sell in {_month(labels[pick])}?", f"{values[pick]}.", values[pick]),
        num("What's the gap between the best and the worst month?",
            f"{max(values)} - {min(values)} = {max(values) - min(values)}.",
            max(values) - min(values), task="arithmetic"))), spec, rng)


def chart_rain(rng: random.Random) -> Item:
    spec, labels, values, colours = _chart(rng, "Rainfall (mm)")
    low = labels[values.index(min(values))]
    pick = rng.randrange(len(labels))
    return _with(kw("Looking at this rainfall chart, which month was driest?",
                    f"{_month(low)}, with {min(values)} mm.", _month_words(low), then=(
        num(f"How many millimetres fell in {_month(labels[pick])}?", f"{values[pick]} mm.",
            values[pick]),
        kw(f"What colour is the {_month(labels[pick])} bar?", f"{colours[pick].capitalize()}.",
           colours[pick]))), spec, rng)


def chart_visitors(rng: random.Random) -> Item:
    spec, labels, values, _ = _chart(rng, "Visitors per month")
    low = labels[values.index(min(values))]
    return _with(num("How many months does this visitor chart cover?", f"{len(labels)} months.",
                     len(labels), then=(
        kw("Which of them had the fewest visitors?", f"{_month(low)}.", _month_words(low)),
        num("Add up all the visitors shown. What's the total?", f"{sum(values)}.", sum(values),
            task="arithmetic"))), spec, rng)


def _receipt(rng: random.Random, shop: str, stock: list[tuple[str, float]]
             ) -> tuple[MediaSpec, list[tuple[str, float]], float]:
    items = rng.sample(stock, rng.randint(3, 5))
    total = round(sum(p for _, p in items), 2)
    lines = [shop] + [f"{n:<13}{p:>7.2f}" for n, p in items] + [f"{'TOTAL':<13}{total:>7.2f}"]
    return (MediaSpec("text_picture", {"style": "receipt", "lines": lines},
                      f"{shop.lower()} receipt totalling {total:.2f}"), items, total)


def receipt_grocery(rng: random.Random) -> Item:
    spec, items, total = _receipt(rng, "GREEN GROCER", GROCERIES)
    name, price = rng.choice(items)
    note = 20 if total < 20 else 50
    return _with(num("How much did I spend altogether on this shopping trip?",
                     f"{total:.2f}.", total, 0.005, then=(
        num(f"What did the {name.lower()} cost?", f"{price:.2f}.", price, 0.005),
        num(f"I paid with a {note} note. What change should I get?",
            f"{note} - {total:.2f} = {note - total:.2f}.", round(note - total, 2), 0.011,
            task="arithmetic"))), spec, rng)


def receipt_cafe(rng: random.Random) -> Item:
    spec, _, total = _receipt(rng, "CAFE LUNA", CAFE)
    people = rng.randint(2, 4)
    with_tip = round(total * 1.1, 2)
    return _with(num("What's the total on this café bill?", f"{total:.2f}.", total, 0.005, then=(
        num("Add a 10 % tip. What do we pay then?", f"{with_tip:.2f}.", with_tip, 0.011,
            task="arithmetic"),
        num(f"Split that evenly between {people} of us. How much each?",
            f"{with_tip / people:.2f}.", round(with_tip / people, 2), 0.011,
            task="arithmetic"))), spec, rng)


def receipt_hardware(rng: random.Random) -> Item:
    spec, items, total = _receipt(rng, "DIY DEPOT", HARDWARE)
    name, price = max(items, key=lambda x: x[1])
    return _with(kw("Which thing on this hardware receipt was the priciest?",
                    f"The {name.lower()}, at {price:.2f}.", name.lower(), then=(
        num("How many different things did I buy?", f"{len(items)}.", len(items)),
        num("And what did it all come to?", f"{total:.2f}.", total, 0.005))), spec, rng)


DRAWN: dict[str, tuple[str, Callable[[random.Random], Item]]] = {
    "chart-sales": ("image_qa", chart_sales),
    "chart-rain": ("image_qa", chart_rain),
    "chart-visitors": ("image_qa", chart_visitors),
    "receipt-grocery": ("ocr", receipt_grocery),
    "receipt-cafe": ("ocr", receipt_cafe),
    "receipt-hardware": ("ocr", receipt_hardware),
}


def drawn_families(rng: random.Random, per_family: int) -> tuple[Family, ...]:
    """`per_family` seeded charts or receipts for each drawn family."""
    return tuple(Family(name, task, tuple(make(rng) for _ in range(per_family)))
                 for name, (task, make) in DRAWN.items())
