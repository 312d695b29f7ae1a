"""`python -m lab.regret`: simulated raters on an LCIO-Bench file, regret per round for
per-session learning, the shared prior only and no learning (the figure in docs/results.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from policies.artifacts import BENCH_PATH


@pytest.fixture(scope="module")
def bench() -> Path:
    if not BENCH_PATH.exists():
        pytest.skip("LCIO-Bench v1 is not in assets/bench")
    return BENCH_PATH


def test_the_command_writes_the_curves_and_a_figure(tmp_path: Path, bench: Path) -> None:
    from lab.regret import main

    doc = main(["--dataset", str(bench), "--out", str(tmp_path), "--sessions", "8",
                "--rounds", "6", "--seeds", "1"])
    saved = json.loads((tmp_path / "regret.json").read_text())
    assert saved["curves"].keys() == {"personal", "shared", "none"}
    for c in saved["curves"].values():
        assert len(c["mean"]) == 6 and all(x >= 0 for x in c["mean"]), "regret is never negative"
        assert c["cumulative_mean"] == pytest.approx(np.cumsum(c["mean"]).tolist())
    first = {m: c["mean"][0] for m, c in saved["curves"].items()}
    assert first["personal"] == first["shared"] == first["none"], "round 1: nothing learned yet"
    assert Path(doc["figure"]).exists() and Path(doc["figure"]).suffix in (".png", ".html")
    assert saved["command"].startswith("python -m lab.regret --dataset")


def test_a_rater_with_a_strong_taste_is_learned_only_per_session(bench: Path) -> None:
    from lab.regret import SimConfig, fit_policy, simulate
    from policies.bench.dataset import complete_dialogues, split

    train, test = split(complete_dialogues(bench), 0)
    config = SimConfig(sessions=20, rounds=30, seeds=1, taste_population=0.0, taste_individual=0.4)
    regret = simulate(fit_policy(train), test, config, seed=0)
    late = {m: float(r[:, -10:].mean()) for m, r in regret.items()}
    assert late["personal"] < 0.8 * late["none"], late
    assert np.allclose(regret["personal"][:, 0], regret["none"][:, 0])
