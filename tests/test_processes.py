"""Processes (issue 9 item 13): the app's stand-in child never outlives it, and a test run
that leaves a process behind fails.

The app is started exactly as the README says (`python app.py`), with the tiny test model as
both the local model and the stand-in's, so it is up in seconds; then it is stopped with
SIGTERM, or killed with SIGKILL, and /proc is checked for the child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backends.standin import probe
from tests.browser_support import OFFLINE, ROOT, free_port


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def children(pid: int) -> dict[int, str]:
    """Direct children of `pid`: {pid: command line}."""
    out: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            out[int(entry.name)] = command
    return out


@contextmanager
def app_process(tmp_path: Path, tiny_model_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`python app.py` on free ports with the tiny model; yields (app, stand-in child pid)
    once the page answers and the stand-in child is healthy."""
    port, standin_port = free_port(), free_port()
    env = {**os.environ, **OFFLINE, "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "LCIO_STANDIN_PORT": str(standin_port),
           "LCIO_LOCAL_MODEL": str(tiny_model_dir), "LCIO_STANDIN_MODEL": str(tiny_model_dir),
           "LCIO_CACHE_DIR": str(tmp_path / "cache"), "LCIO_LOG_PATH": str(tmp_path / "log.sqlite")}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(name, None)
    log = (tmp_path / "app.log").open("wb")
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        child = 0
        while True:
            assert app.poll() is None, (tmp_path / "app.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the app or its stand-in did not start"
            servers = [p for p, c in children(app.pid).items() if "backends.server" in c]
            if servers and probe(f"http://127.0.0.1:{standin_port}") is not None:
                child = servers[0]
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                    break
                except OSError:
                    pass
            time.sleep(0.5)
        yield app, child
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        log.close()


@pytest.mark.slow
def test_sigterm_stops_the_app_and_its_standin_child(tmp_path: Path, tiny_model_dir: Path) -> None:
    with app_process(tmp_path, tiny_model_dir) as (app, child):
        assert alive(child)
        app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=60)
        assert code in (0, 143), (tmp_path / "app.log").read_text()[-2000:]
        assert not alive(child)  # stopped by the app, not left to atexit or to chance


@pytest.mark.slow
def test_the_standin_child_ends_by_itself_when_the_app_is_killed(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    with app_process(tmp_path, tiny_model_dir) as (app, child):
        app.kill()  # SIGKILL: no handler, no atexit
        app.wait()
        deadline = time.monotonic() + 15
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(child), "the stand-in outlived a killed app"


LEAKY_TEST = '''
import subprocess


def test_leaves_a_process_behind():
    subprocess.Popen(["sleep", "120"])
'''
TIDY_TEST = '''
import subprocess


def test_stops_what_it_starts():
    proc = subprocess.Popen(["sleep", "120"])
    proc.terminate()
    proc.wait()
'''
CONFTEST = '''
from tests import leak_check


def pytest_configure(config):
    leak_check.start()


def pytest_sessionfinish(session, exitstatus):
    leak_check.finish(session)
'''


@pytest.mark.parametrize("body,fails", [(LEAKY_TEST, True), (TIDY_TEST, False)])
def test_a_run_that_leaves_a_process_behind_fails(tmp_path: Path, body: str, fails: bool) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LCIO_TEST_RUN", None)  # the inner run marks its own processes
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "test_inner.py"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    if fails:
        assert result.returncode != 0, result.stdout
        assert "still running" in result.stdout and "sleep 120" in result.stdout
    else:
        assert result.returncode == 0, result.stdout
