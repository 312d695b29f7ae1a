"""The everyday probe: its file's schema, its scoring, the per-family subset and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.probe.__main__ import pick
from lab.probe.items import QUALITY_FAMILY, ProbeFileError, all_items, load_everyday, parse_line
from lab.probe.table import markdown, paired_gap, summary
from lab.scoring import score_answer

FAMILIES = {"world_facts", "definitions", "units", "commonsense", "arithmetic", "rewriting",
            "translation", "advice"}


def test_the_probe_file_holds_150_everyday_items_in_every_family() -> None:
    items = load_everyday()
    assert len(items) >= 150
    by_family = {f: [i for i in items if i.family == f] for f in FAMILIES}
    assert {i.family for i in items} == FAMILIES
    assert all(len(group) >= 15 for group in by_family.values())
    assert len({i.question for i in items}) == len(items)  # no question twice


def test_the_quality_set_is_added_under_its_own_family() -> None:
    items = all_items()
    assert len([i for i in items if i.family == QUALITY_FAMILY]) == 12
    assert len({i.id for i in items}) == len(items)


def _by_id(item_id: str):  # type: ignore[no-untyped-def]
    return next(i for i in load_everyday() if i.id == item_id)


@pytest.mark.parametrize(("item_id", "right", "wrong"), [
    ("world_facts-01", "The capital of Japan is Tokyo.", "The capital of Japan is Kyoto."),
    ("units-02", "There are 180 minutes in 3 hours.", "3 hours is about 1.25 hours."),
    ("translation-03", "Das Haus ist groß.", "La maison est grande."),
    ("arithmetic-07", "You have $12.50 left.", "You have $13 left."),
])
def test_probe_rules_score_right_answers_1_and_wrong_ones_0(item_id: str, right: str,
                                                            wrong: str) -> None:
    item = _by_id(item_id)
    assert score_answer(item.rule, right, question=item.question).score == 1.0
    assert score_answer(item.rule, wrong, question=item.question).score == 0.0


def test_a_refusal_scores_0() -> None:
    item = _by_id("world_facts-01")
    assert score_answer(item.rule, "Sorry, I can't help with that. Tokyo.").score == 0.0


@pytest.mark.parametrize("line", [
    '{"id": "x", "family": "f", "question": "q?"}',  # no rule
    '{"id": "x", "family": "f", "question": "q?", "rule": {"kind": "number"}}',  # no target
    '{"id": "x", "family": "f", "question": "q?", "rule": {"kind": "keywords", "groups": []}}',
    '{"id": "x", "family": "f", "question": "q?", "rule": {"kind": "guess"}}',
    'not json',
])
def test_a_bad_line_is_refused_with_its_line_number(line: str) -> None:
    with pytest.raises(ProbeFileError, match="line 7"):
        parse_line(line, 7)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    line = '{"id": "a", "family": "f", "question": "q?", "rule": {"kind": "exact", "text": "x"}}'
    (tmp_path / "p.jsonl").write_text(line + "\n" + line + "\n")
    with pytest.raises(ProbeFileError, match="duplicate"):
        load_everyday(tmp_path / "p.jsonl")


def test_the_per_family_subset_keeps_the_first_n_of_each_family() -> None:
    items = all_items()
    subset = pick(items, 2)
    families = {i.family for i in items}
    assert len(subset) == 2 * len(families)
    assert pick(items, None) == items


def test_the_summary_compares_models_on_common_items_only(tmp_path: Path) -> None:
    rows = [  # the local model answered three items, the stand-in two of them
        ("smollm2-135m", "a", "units", 0.0), ("smollm2-135m", "b", "units", 1.0),
        ("smollm2-135m", "c", "advice", 0.0),
        ("big", "a", "units", 1.0), ("big", "b", "units", 1.0),
    ]
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(
        {"model": m, "id": i, "family": f, "score": s, "answer": "", "tokens": 1}) + "\n"
        for m, i, f, s in rows))
    data = summary(tmp_path)
    assert data["common"] == 2
    assert data["models"]["smollm2-135m"]["everyday"] == 0.5
    assert data["models"]["big"]["everyday"] == 1.0
    assert data["models"]["big"]["gap"][0] == pytest.approx(0.5)
    assert "+0.500" in markdown(tmp_path)


def test_paired_gap_interval_shrinks_with_agreeing_items() -> None:
    mean, half = paired_gap([1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    assert mean == 0.75 and 0 < half < 1


def test_the_subset_goes_round_robin_so_a_stopped_run_covers_every_family() -> None:
    items = all_items()
    families = {i.family for i in items}
    first = pick(items, 3)[:len(families)]
    assert {i.family for i in first} == families


def test_word_error_rate_counts_edits_and_reads_number_words_as_digits() -> None:
    from lab.probe.speech import word_errors

    assert word_errors("Gate twelve at seven.", "gate 12 at 7") == (0, 4)
    assert word_errors("buy milk and bread", "by milk bread today") == (3, 4)


def test_rescore_applies_the_current_rules_to_stored_answers(tmp_path: Path) -> None:
    from lab.probe.__main__ import rescore

    row = {"model": "m", "id": "world_facts-01", "family": "world_facts",
           "answer": "It is Tokyo.", "tokens": 4, "score": 0.0}
    (tmp_path / "answers.jsonl").write_text(json.dumps(row) + "\n")
    assert rescore(tmp_path) == 1
    assert json.loads((tmp_path / "answers.jsonl").read_text())["score"] == 1.0
