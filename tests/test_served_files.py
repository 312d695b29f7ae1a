"""What Gradio's file and upload routes let an anonymous client do to the chat's server
(issue 21 items 3 and 7): download the chat's log (never), store files above the app's own
attachment limit (refused), keep files on the server's disk (deleted on a schedule).
Raw HTTP against the chat's Blocks served in this process on fake models."""

from __future__ import annotations

import secrets
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gradio import utils as gr_utils

from app.runtime import Runtime
from app.ui import ChatUI
from backends.config import Settings
from tests.browser_support import launched
from tests.test_app_engine import FakeBackend, RulePolicy

pytestmark = pytest.mark.abuse


def fake_runtime(log: Path | str) -> Runtime:
    backends = {"local": FakeBackend("local", ["x"]), "cloud": FakeBackend("cloud", ["y"])}
    return Runtime(Settings(), log, policies={"rule": RulePolicy}, backends=backends)


def status_of(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""


def test_the_chat_refuses_a_log_where_gradio_serves_files(tmp_path: Path) -> None:
    """Item 7: the study refused this; the chat served its whole log at /gradio_api/file=."""
    folder = Path(gr_utils.get_upload_folder()) / f"lcio-test-log-{secrets.token_hex(4)}"
    try:
        for log in (folder / "sessions.sqlite", f"sqlite:///{folder}/sessions.sqlite"):
            try:
                runtime = fake_runtime(log)
            except ValueError as exc:
                assert "served to anyone" in str(exc)
                continue
            ui = ChatUI(runtime.engine, {}, runtime.policy_names)
            list(ui.respond("canary-in-the-log", [], None))
            with launched(ui.build()) as url:
                status, body = status_of(f"{url}gradio_api/file={folder}/sessions.sqlite")
            pytest.fail(f"the chat started with its log at {log}; GET file= answered {status}, "
                        f"canary {'in' if b'canary-in-the-log' in body else 'not in'} it")
        assert not (folder / "sessions.sqlite").exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert fake_runtime(tmp_path / "sessions.sqlite").store.path is not None  # elsewhere: fine
