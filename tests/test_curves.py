"""Learning curves (`lab.curves`) and the A2C recipe's spread (`lab.m4a1.recipe_spread`): the
subsets are what they say, the table and targets are computed from the rows, and one tiny run
goes end to end on M4A1."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lab.curves import main as curves_main
from lab.curves import markdown, summarise, targets
from lab.curves_svg import curves_svg
from lab.m4a1.recipe_spread import markdown as spread_markdown
from lab.m4a1.recipe_spread import training_seeds
from lab.m4a1.subsets import subsample

M4A1 = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m4a1" / "M4A1.json"


def _rows() -> list[dict]:
    rows = []
    for seed, full, quarter in ((1, 1.2, (0.9, 1.1)), (2, 1.4, (1.3, 1.3))):
        rows.append({"policy": "lcio", "seed": seed, "fraction": 1.0, "subsample": 0, "reward": full})
        for j, r in enumerate(quarter):
            rows.append({"policy": "lcio", "seed": seed, "fraction": 0.25, "subsample": j, "reward": r})
        rows.append({"policy": "ppo", "seed": seed, "fraction": 1.0, "subsample": 0, "reward": 1.0})
    return rows


def test_subsample_is_a_seeded_subset_of_the_asked_size() -> None:
    train = list(range(80))
    a = subsample(train, 0.25, seed=1, index=0)
    assert len(a) == 20 and set(a) <= set(train) and len(set(a)) == 20
    assert a == subsample(train, 0.25, seed=1, index=0)
    assert a != subsample(train, 0.25, seed=1, index=1)
    assert a != subsample(train, 0.25, seed=2, index=0)
    assert subsample(train, 1.0, seed=1, index=0) == train
    assert len(subsample(train, 0.001, seed=1, index=0)) == 1


def test_summary_averages_subsamples_within_a_seed_then_seeds() -> None:
    s = summarise(_rows())
    assert s["lcio"][0.25]["per_seed"] == {1: [0.9, 1.1], 2: [1.3, 1.3]}
    assert s["lcio"][0.25]["mean"] == pytest.approx((1.0 + 1.3) / 2)
    assert s["lcio"][1.0]["mean"] == pytest.approx(1.3)
    assert s["lcio"][0.25]["runs"] == 4


def test_targets_are_decided_by_the_measured_figures() -> None:
    t = targets(summarise(_rows()))
    own = t["0.25: lcio >= 0.95 x own full-data reward"]
    assert own["share"] == pytest.approx(1.15 / 1.3) and own["met"] is False
    vs = t["0.25: lcio >= 1.1 x ppo on the full split"]
    assert vs["ratio"] == pytest.approx(1.15) and vs["met"] is True


def test_table_and_figure_show_every_seed() -> None:
    s = summarise(_rows())
    table = markdown(s, [1, 2])
    assert "| lcio | 25% | 1.000 (0.900 / 1.100) | 1.300 (1.300 / 1.300) | 1.150 | 4 | 0.88 |" in table
    svg = ET.fromstring(curves_svg(s))
    dots = [e for e in svg.iter() if e.tag.endswith("circle")]
    assert len(dots) == len(_rows())


def test_spread_uses_the_split_seed_first_and_reports_per_split() -> None:
    assert training_seeds(2, 3) == [2, 102, 202]
    rows = [{"split": s, "train_seed": t, "reward": r, "cloud_share": 0.5}
            for s, t, r in ((1, 1, 0.8), (1, 101, 1.0), (2, 2, 0.9), (2, 102, 0.9))]
    text = spread_markdown(rows, "a2c", 0.972)
    assert "| 1 | 0.800 (50% cloud) | 1.000 (50% cloud) | 0.900 |" in text
    assert "| mean of splits 1–3 | 0.850 | 0.950 | 0.900 |" in text
    assert "published 0.972" in text


@pytest.mark.skipif(not M4A1.is_file(), reason="../shared/data/m4a1/M4A1.json is not beside the repo")
def test_one_tiny_curve_runs_end_to_end_and_resumes(tmp_path) -> None:
    args = ["--dataset", str(M4A1), "--out", str(tmp_path), "--seeds", "1", "--fractions", "0.1",
            "--subsamples", "1", "--rl-steps", "0"]
    res = curves_main(args)
    (row,) = res["rows"]
    assert row["train_dialogues"] == 8 and 0.3 < row["reward"] < 2.0
    lines = (tmp_path / "curves.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["reward"] == row["reward"]
    assert (tmp_path / "curves.svg").read_text().startswith("<svg")
    again = curves_main(args)  # resumes: nothing is measured twice
    assert again["rows"] == res["rows"] and len((tmp_path / "curves.jsonl").read_text().splitlines()) == 1
