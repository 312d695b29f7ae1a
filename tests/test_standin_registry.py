"""The stand-in registry: `LCIO_STANDIN_MODEL=<key>` picks a model; a missing or corrupt part
falls back to the next model that checks out, with a note saying why.

Each fake model is a real tiny GGUF split into part packages in a temp folder (never imported),
so the join, sha256 and header checks all run for real.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import replace
from pathlib import Path

import pytest

from backends import standin_model
from backends.config import Settings
from backends.standin_model import FALLBACK_NAME, choose_standin, expected_name_and_note
from backends.standin_registry import QWEN_05B, QWEN_15B, SPECS
from tests.test_standin_model import tiny_gguf


def _fake_parts(tmp_path: Path, prefix: str, count: int) -> tuple[tuple[str, ...], str]:
    """`count` part packages named `prefix_partN` holding a tiny qwen2 GGUF; (names, sha256)."""
    blob = tiny_gguf(tmp_path / f"{prefix}.gguf")
    site = tmp_path / "site"
    names = tuple(f"{prefix}_part{i}" for i in range(1, count + 1))
    size = len(blob) // count + 1
    for index, name in enumerate(names, start=1):
        data = site / name / "data"
        data.mkdir(parents=True)
        (site / name / "__init__.py").write_text("raise ImportError('never import me')\n")
        (data / f"part{index:02d}.bin").write_bytes(blob[(index - 1) * size:index * size])
    return names, hashlib.sha256(blob).hexdigest()


@pytest.fixture
def two_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default model and the 1.5B entry, both with fake parts; returns the site folder."""
    small, small_sha = _fake_parts(tmp_path, "lcio_fake_small", 2)
    big, big_sha = _fake_parts(tmp_path, "lcio_fake_big", 3)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    monkeypatch.setattr(standin_model, "QWEN_PACKAGES", small)
    monkeypatch.setattr(standin_model, "QWEN_SHA256", small_sha)
    monkeypatch.setattr(standin_model, "SPECS", (
        QWEN_05B, replace(QWEN_15B, packages=big, sha256=big_sha, size=0)))
    return tmp_path / "site"


def _settings(tmp_path: Path, model: str = "") -> Settings:
    return Settings(cache_dir=tmp_path / "cache", standin_model=model)


def test_the_registry_names_distinct_keys_files_and_checksums() -> None:
    assert len({s.key for s in SPECS}) == len({s.file for s in SPECS}) == len(SPECS)
    assert all(len(s.sha256) == 64 and s.size > 0 and s.packages for s in SPECS)


def test_a_registry_key_picks_that_model(tmp_path: Path, two_models: Path) -> None:
    choice = choose_standin(_settings(tmp_path, QWEN_15B.key))
    assert (choice.name, choice.note) == (QWEN_15B.name, "")
    assert Path(choice.ref).name == QWEN_15B.file and choice.quantize


def test_unset_serves_the_default(tmp_path: Path, two_models: Path) -> None:
    assert choose_standin(_settings(tmp_path)).name == QWEN_05B.name


def test_a_missing_part_falls_back_to_the_next_model_with_a_note(
        tmp_path: Path, two_models: Path) -> None:
    (two_models / "lcio_fake_big_part2" / "data" / "part02.bin").unlink()
    choice = choose_standin(_settings(tmp_path, QWEN_15B.key))
    assert choice.name == QWEN_05B.name
    assert f"instead of {QWEN_15B.name}" in choice.note and "part02.bin missing" in choice.note
    assert expected_name_and_note(_settings(tmp_path, QWEN_15B.key))[0] == QWEN_05B.name


def test_a_corrupt_part_falls_back_and_leaves_no_joined_file(
        tmp_path: Path, two_models: Path) -> None:
    part = two_models / "lcio_fake_big_part1" / "data" / "part01.bin"
    part.write_bytes(b"X" + part.read_bytes()[1:])
    choice = choose_standin(_settings(tmp_path, QWEN_15B.key))
    assert choice.name == QWEN_05B.name and "sha256" in choice.note
    assert not (tmp_path / "cache" / "models" / QWEN_15B.file).exists()


def test_when_nothing_checks_out_smollm2_serves_and_the_note_says_all_why(
        tmp_path: Path, two_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standin_model, "QWEN_SHA256", "0" * 64)
    (two_models / "lcio_fake_big_part3" / "data" / "part03.bin").unlink()
    choice = choose_standin(_settings(tmp_path))
    assert (choice.ref, choice.name) == ("", FALLBACK_NAME)
    assert "sha256" in choice.note and "part03.bin missing" in choice.note


def test_an_opt_in_model_that_is_simply_not_installed_is_not_mentioned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standin_model, "QWEN_PACKAGES", ("lcio_no_such_small_part1",))
    monkeypatch.setattr(standin_model, "SPECS", (
        QWEN_05B, replace(QWEN_15B, packages=("lcio_no_such_big_part1",))))
    choice = choose_standin(_settings(tmp_path))
    assert choice.name == FALLBACK_NAME
    assert "Qwen parts not installed" in choice.note and "Qwen 1.5B" not in choice.note
    asked = choose_standin(_settings(tmp_path, QWEN_15B.key))
    assert "Qwen 1.5B parts not installed" in asked.note  # asked for: always said
