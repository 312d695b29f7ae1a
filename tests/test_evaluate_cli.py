"""The M4A1 `evaluate` command end to end on the paper's data (skipped where it is absent)."""

from pathlib import Path

import pytest

from lab import evaluate

M4A1 = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m4a1" / "M4A1.json"


@pytest.mark.skipif(not M4A1.is_file(), reason="../shared/data/m4a1/M4A1.json is not beside the repo")
def test_evaluate_defaults_to_the_paper_protocol_with_per_seed_rewards(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    res = evaluate.main(["--dataset", str(M4A1), "--seeds", "1", "--out", str(tmp_path),
                         "--rl-steps", "0", "--sweep", "0.25,1"])
    printed = capsys.readouterr().out
    assert res["config"]["protocol"] == "paper" and res["config"]["seeds"] == [1]
    assert {"oracle (hindsight)", "local-only", "cloud (random subsets)", "random", "lcio",
            "lcio, one turn ahead", "lcio, mask only", "lcio (bootstrap model)"} <= set(res["policies"])
    assert not [n for n in res["policies"] if "λ" in n], "the M4A1 planner has no multipliers to ablate"
    assert res["per_seed"]["local-only"]["1.0"] == [pytest.approx(0.8049, abs=1e-3)]  # the paper's seed 1
    assert "seed 1" in printed and "Budget sweep" in printed
    assert res["targets"]["lcio_max_over_budget_share"] == 0.0
