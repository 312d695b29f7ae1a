"""A second real pair, end to end on a small N: the packaged Qwen2.5-Coder-0.5B-Instruct as
the local model (nf4, the app's LocalBackend), calibrated on a few training turns, then the
shipped and the calibrated policy played on held-out dialogues measured on it
(docs/calibration.md shows the same with a larger N). Skipped without the Qwen parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.config import Settings
from backends.standin_model import PACKAGED_QWEN, StandinModelError, qwen_gguf
from lab.calibrate.cli import main as calibrate
from lab.calibrate.heldout import held_out_dialogues
from lab.calibrate.heldout import main as heldout
from policies.artifacts import BENCH_PATH

pytestmark = pytest.mark.slow


@pytest.fixture
def qwen_local(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        qwen_gguf(Path(Settings().cache_dir))
    except StandinModelError as exc:
        pytest.skip(f"the packaged Qwen is not available: {exc}")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LCIO_OPENAI_API_KEY",
                 "LCIO_OPENAI_BASE_URL", "LCIO_CLOUD_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LCIO_LOCAL_MODEL", PACKAGED_QWEN)


def test_calibrate_on_training_turns_and_play_held_out_ones(qwen_local: None, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.json"
    assert calibrate(["--train-split-seed", "0", "--limit", "4", "--out", str(tmp_path / "cal.jsonl"),
                      "--policy-out", str(policy), "--media-dir", str(tmp_path / "media"),
                      "--no-progress"]) == 0
    shown = capsys.readouterr().out
    assert "measuring the local model only" in shown
    local = [json.loads(x) for x in (tmp_path / "cal.local-measurements.jsonl").read_text().splitlines()]
    held = held_out_dialogues(BENCH_PATH, 0)
    assert local[1:] and not any(r["dialogue"] in held for r in local[1:])  # never the held-out
    assert all(r["model"].startswith("Qwen2.5-Coder-0.5B-Instruct") for r in local[1:])
    doc = json.loads(policy.read_text())
    assert doc["calibrated_for"]["local"]["model"].startswith("Qwen2.5-Coder-0.5B-Instruct")
    assert "--split train" in doc["command"]  # trained on the 80 % only

    figures = tmp_path / "heldout.json"
    assert heldout(["--policy", str(policy), "--dialogues", "1", "--measurements",
                    str(tmp_path / "heldout.jsonl"), "--media-dir", str(tmp_path / "media"),
                    "--json", str(figures), "--no-progress"]) == 0
    result = json.loads(figures.read_text())
    assert len(result["dialogues"]) == 1 and result["dialogues"][0] in held
    shipped, calibrated = result["results"].values()
    for figures_of in (shipped, calibrated):  # both played the same measured turns
        assert set(figures_of) == {"0.5", "1.0", "2.0"}
        assert all(0 <= m["quality"] <= 1 and m["reward"] <= 1 for m in figures_of.values())
    assert "calibrated (policy.json)" in capsys.readouterr().out
