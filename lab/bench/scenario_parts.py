"""Small builders the bench's blueprints share: scoring rules, photos, speech, charts, receipts."""

from __future__ import annotations

import random

from lab.bench.facts import MONTH_NAMES, MONTHS, SHOP_ITEMS
from lab.bench.media import PALETTE, PHOTOS, MediaSpec
from lab.bench.scoring import Rule


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
