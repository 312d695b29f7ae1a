"""The LCIO-Bench dialogue generator: size, coverage, references, determinism, real media."""

from __future__ import annotations

import hashlib
import re
import wave
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from lab.bench.media import PALETTE, render
from lab.bench.scenarios import MAX_ATTACHMENTS, TASKS, generate
from lab.bench.scoring import apply_rule


@pytest.fixture(scope="module")
def dialogues():
    return generate(seed=0)


def test_at_least_m4a1_size_and_2_to_5_turns(dialogues) -> None:
    turns = [t for d in dialogues for t in d.turns]
    assert len(dialogues) >= 100 and len(turns) >= 352
    assert {len(d.turns) for d in dialogues} <= {2, 3, 4, 5}
    assert Counter(len(d.turns) for d in dialogues)[5] > 0  # the long end is used too
    assert len({d.id for d in dialogues}) == len(dialogues)


def test_every_task_and_modality_is_covered(dialogues) -> None:
    turns = [t for d in dialogues for t in d.turns]
    tasks = Counter(t.task for t in turns)
    assert set(tasks) == set(TASKS[:8]) and min(tasks.values()) >= 15  # v1's eight
    kinds = Counter(a.kind for t in turns for a in t.attachments)
    assert {"photo", "bar_chart", "diagram", "shapes", "text_picture", "speech"} <= set(kinds)
    counts = Counter(len(t.attachments) for t in turns)
    assert set(counts) == set(range(MAX_ATTACHMENTS + 1))


def test_references_and_rules_are_present_and_consistent(dialogues) -> None:
    for d in dialogues:
        for i, t in enumerate(d.turns):
            assert t.prompt and t.reference and t.question
            assert len(t.relevant) == len(t.attachments)
            assert all(j < i for j in t.refers_to)
            # The reference answer itself passes its own fact rule (the facts are consistent).
            if t.rule.kind != "similarity":
                assert apply_rule(t.rule, t.reference, t.question) == 1.0, (d.id, i, t)
            else:
                assert t.rule.reference


def test_later_turns_refer_to_earlier_turns_and_attachments(dialogues) -> None:
    later = [(d, i, t) for d in dialogues for i, t in enumerate(d.turns) if t.refers_to]
    assert len(later) >= 100
    # Some follow-ups ask about an attachment sent in an earlier turn, carrying none themselves.
    back = [t for d, i, t in later if not t.attachments
            and any(d.turns[j].attachments for j in t.refers_to)]
    assert len(back) >= 50
    assert any("chart I sent" in t.prompt for t in back)


def test_spoken_requests_hide_the_question_from_the_text(dialogues) -> None:
    speech = [t for d in dialogues for t in d.turns if t.task == "speech"]
    assert speech
    for t in speech:
        spoken = [a for a in t.attachments if a.kind == "speech"]
        assert len(spoken) == 1 and spoken[0].params["text"] == t.question
        assert t.question not in t.prompt
        numbers = re.findall(r"\d+", t.question)
        assert not any(n in t.prompt for n in numbers)


def test_same_seed_same_dialogues_other_seed_differs() -> None:
    a, b, c = generate(seed=3), generate(seed=3), generate(seed=4)
    assert a == b
    assert a != c


def test_chart_facts_match_the_drawn_chart(dialogues, tmp_path: Path) -> None:
    """The colour a question expects is the colour drawn for that month's bar."""
    d = next(d for d in dialogues if d.blueprint == "chart" and len(d.turns) >= 2)
    spec = d.turns[0].attachments[0]
    path = render(spec, tmp_path)
    image = Image.open(path).convert("RGB")
    labels, colours = spec.params["labels"], spec.params["colours"]
    expected = d.turns[1].rule.groups[0][0]
    month = next(lbl for lbl, col in zip(labels, colours, strict=True) if col == expected)
    assert month[:3] in d.turns[1].prompt[:60] or month in d.turns[1].prompt
    # The drawn bar of that colour exists in the picture.
    assert PALETTE[expected] in {c for _, c in image.getcolors(maxcolors=1 << 16)}


def test_media_render_deterministically(dialogues, tmp_path: Path) -> None:
    specs = {}
    for d in dialogues:
        for t in d.turns:
            for s in t.attachments:
                specs.setdefault(s.kind, s)
    digests = {}
    for kind, spec in specs.items():
        first = render(spec, tmp_path / "a")
        second = render(spec, tmp_path / "b")
        digests[kind] = hashlib.sha256(first.read_bytes()).hexdigest()
        assert digests[kind] == hashlib.sha256(second.read_bytes()).hexdigest(), kind
        if kind == "speech":
            with wave.open(str(first)) as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
                assert w.getnframes() / w.getframerate() > 0.5
        else:
            with Image.open(first) as im:
                assert min(im.size) >= 80
