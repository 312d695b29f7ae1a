"""LCIO-Bench v3: its content, a build that resumes without duplicates, and the family split."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from lab.bench.batched import Answer, ChosenLogProbs, Prompt
from lab.bench.build import RowWriter, content_view, read_rows
from lab.bench.build_v3 import build_v3, status
from lab.bench.scenarios_v3 import content_stats, generate_v3, masked
from lab.scoring import apply_rule
from policies.bench.dataset import family_split, load_bench
from policies.bench.tasks import TASKS

MODELS = {"local": {"model": "fake-local"}, "cloud": {"model": "fake-cloud"}}


@pytest.fixture(scope="module")
def dialogues() -> list[Any]:
    return generate_v3(0)


def test_content_meets_the_issue_counts(dialogues: list[Any]) -> None:
    stats = content_stats(dialogues)
    assert stats["dialogues"] >= 300 and stats["turns"] >= 1000
    # distinct sentences written out, not values swapped into charts' and receipts' templates
    assert stats["distinct_written_prompts"] >= 600
    assert stats["distinct_prompts_masked"] >= 600
    assert stats["families"] >= 60
    turns = [t for d in dialogues for t in d.turns]
    assert set(Counter(t.task for t in turns)) == set(TASKS)
    kinds = Counter(a.kind for t in turns for a in t.attachments)
    assert {"photo", "bar_chart", "text_picture", "speech"} <= set(kinds)
    assert sum(not all(t.relevant) for t in turns if t.attachments) >= 30  # best left out
    assert sum(bool(t.refers_to) for t in turns) >= 150  # follow-ups that refer back
    assert generate_v3(0) == dialogues and generate_v3(1) != dialogues


def test_every_turn_has_a_reference_a_rule_and_a_family(dialogues: list[Any]) -> None:
    for d in dialogues:
        assert d.family and 1 <= len(d.turns) <= 6
        for i, t in enumerate(d.turns):
            assert t.prompt.strip() and t.reference.strip() and t.task in TASKS
            assert t.rule.kind in ("number", "keywords", "exact", "similarity")
            assert all(0 <= j < i for j in t.refers_to)
            if t.rule.kind != "similarity":  # the reference itself passes its own rule
                assert apply_rule(t.rule, t.reference, t.question) == 1.0, (d.family, t.prompt)


def test_no_prompt_or_near_duplicate_is_shared_between_families(dialogues: list[Any]) -> None:
    owners: dict[str, set[str]] = {}
    for d in dialogues:
        for t in d.turns:
            owners.setdefault(masked(t.prompt).lower(), set()).add(d.family)
    shared = {p: f for p, f in owners.items() if len(f) > 1}
    assert not shared


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_family_split_keeps_families_and_prompts_on_one_side(dialogues: list[Any],
                                                             seed: int) -> None:
    train, test = family_split(dialogues, seed, family=lambda d: d.family)
    assert len(train) + len(test) == len(dialogues)
    assert 0.2 * len(dialogues) <= len(test) <= 0.3 * len(dialogues)
    assert not {d.family for d in train} & {d.family for d in test}
    prompts = [{t.prompt for d in side for t in d.turns} for side in (train, test)]
    assert not prompts[0] & prompts[1]
    again = family_split(dialogues, seed, family=lambda d: d.family)
    assert [d.id for d in again[1]] == [d.id for d in test]
    other = family_split(dialogues, seed + 10, family=lambda d: d.family)
    assert [d.id for d in other[1]] != [d.id for d in test]


def test_chosen_logprobs_are_those_of_the_picked_tokens() -> None:
    torch.manual_seed(0)
    steps = [torch.randn(2, 5) for _ in range(3)]
    picked = torch.tensor([[1, 4, 2], [0, 0, 3]])
    record = ChosenLogProbs()
    ids = torch.zeros(2, 4, dtype=torch.long)  # a prompt of width 4
    for s, scores in enumerate(steps):
        assert record(ids, scores) is scores  # it only reads
        ids = torch.cat([ids, picked[:, s:s + 1]], 1)
    got = torch.tensor(record.finish(picked))
    want = torch.stack([steps[s].log_softmax(-1).gather(1, picked[:, s:s + 1]).squeeze(1)
                        for s in range(3)], 1)
    assert torch.allclose(got, want)


# ------------------------------------------------------------------ the build, with fakes


class FakeSide:
    """Answers from the prompt's shape, as fast as a dictionary: the build's bookkeeping alone."""

    def __init__(self, name: str) -> None:
        self.name = name

    def prompt(self, request: Any) -> Prompt:
        last = request.messages[-1]
        return Prompt([len(m.text) for m in request.messages] + [len(last.attachments)], 8,
                      images=len(last.attachments))

    def answer(self, prompts: Sequence[Prompt]) -> list[Answer]:
        return [Answer(f"{self.name} says {sum(p.ids)}", len(p.ids), 3, "stop",
                       -0.25 * len(p.ids) if self.name == "local" else None) for p in prompts]

    def price(self, prompt: Prompt, answer: Answer) -> tuple[int, float]:
        return answer.prompt_tokens, 0.0 if self.name == "local" else 1e-5 * answer.prompt_tokens


class Interrupted(Exception):
    pass


def interrupting(after: int) -> Callable[[Path], RowWriter]:
    """A RowWriter factory whose writers stop the build before the (after+1)-th row."""
    written = [0]

    def factory(path: Path) -> RowWriter:
        writer = RowWriter(path)
        append = writer.append

        def counted(row: Any) -> None:
            if written[0] >= after:
                raise Interrupted
            written[0] += 1
            append(row)

        writer.append = counted  # type: ignore[method-assign]
        return writer

    return factory


@pytest.fixture(scope="module")
def small(dialogues: list[Any]) -> list[Any]:
    """Text dialogues, one with an unneeded photo, and a chart: every kind of row, few files."""
    text = [d for d in dialogues if d.blueprint == "text" and not d.turns[0].attachments][:2]
    photo = next(d for d in dialogues if d.blueprint == "text" and d.turns[0].attachments)
    chart = next(d for d in dialogues if d.blueprint == "chart")
    return [*text, photo, chart]


def build(out: Path, small: list[Any], media: Path, sides: Sequence[str] = ("local", "cloud"),
          writer_factory: Callable[[Path], Any] = RowWriter,
          models: dict[str, Any] = MODELS) -> dict[str, Any]:
    return build_v3(out, dialogues=small, sides=sides, media_dir=media, max_new=8,
                    models=models, make_side=FakeSide,
                    embed=lambda texts: [[1.0, 0.0] for _ in texts],
                    cold=lambda atts: [0.0] * len(atts), writer_factory=writer_factory,
                    progress=False)


def rows_of(path: Path) -> list[str]:
    return sorted(json.dumps(content_view(r), sort_keys=True) for r in list(read_rows(path))[1:])


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory, small: list[Any]) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("v3")
    build(root / "whole.jsonl", small, root / "media")
    return root / "whole.jsonl", root / "media"


def test_an_interrupted_build_resumes_without_duplicates_at_every_row(
        tmp_path: Path, small: list[Any], whole: tuple[Path, Path]) -> None:
    reference, media = whole
    expected = rows_of(reference)
    assert len(expected) > 30
    for after in range(len(expected)):
        out = tmp_path / f"cut{after}.jsonl"
        with pytest.raises(Interrupted):
            build(out, small, media, writer_factory=interrupting(after))
        if after % 2:  # and a torn line, as a kill in the middle of a write leaves
            with out.open("ab") as handle:
                handle.write(b'{"type": "outcome", "key": "d0')
        build(out, small, media)
        got = rows_of(out)
        keys = [r["key"] for r in list(read_rows(out))[1:]]
        assert len(keys) == len(set(keys)), after
        assert got == expected, after


def test_one_side_at_a_time_equals_both_and_the_file_loads(
        tmp_path: Path, small: list[Any], whole: tuple[Path, Path]) -> None:
    reference, media = whole
    out = tmp_path / "sides.jsonl"
    build(out, small, media, sides=("local",))
    assert {r["location"] for r in read_rows(out) if r["type"] == "outcome"} == {"local"}
    half = status(out)
    assert half["local"]["answers"] == half["local"]["of"] == half["cloud"]["of"] > 0
    assert half["cloud"]["answers"] == half["cloud"]["whole_dialogues"] == 0
    assert half["local"]["whole_dialogues"] == half["dialogues"] == len(small)
    # the stand-in may change before the cloud side is built: adopted while it has no answers
    later = {**MODELS, "cloud": {"model": "another-standin"}}
    build(out, small, media, sides=("cloud",), models=later)
    assert next(read_rows(out))["models"]["cloud"] == {"model": "another-standin"}
    assert len(rows_of(out)) == len(rows_of(reference))
    with pytest.raises(SystemExit, match="resume refused"):  # but not once it has answered
        build(out, small, media, sides=("cloud",), models=MODELS)
    bench = load_bench(out)
    assert bench.complete()
    assert {t.family for t in bench.turns} == {d.family for d in small}
    assert [t.refers_to for t in bench.turns] == [t.refers_to for d in small for t in d.turns]
    for t in bench.turns:
        local = [a for a in range(bench.space.n) if t.valid[a]
                 and bench.space.actions[a].location == "local"]
        assert sorted(t.local_logprob) == local and all(v < 0 for v in t.local_logprob.values())
    train, test = family_split(list(bench.dialogues.values()), 0, test_ratio=0.5)
    assert train and test
    assert not {d[0].family for d in train} & {d[0].family for d in test}


def test_v1_and_v2_still_load_with_their_blueprint_as_family() -> None:
    root = Path(__file__).resolve().parent.parent / "assets" / "bench"
    for name, turns in (("lcio-bench-v1.jsonl", 357), ("lcio-bench-v2.jsonl", 542)):
        bench = load_bench(root / name)
        assert len(bench.turns) == turns
        assert all(t.family for t in bench.turns) and not any(t.local_logprob for t in bench.turns)
