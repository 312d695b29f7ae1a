"""The abuse suite, unit scope (`pytest -m abuse`): inert chat text on both pages, URL logins
and keys redacted from the header, fallbacks, the log and process logs, exports holding only
the caller's session, and the operator's export CLI. tests/test_security.py runs the real app.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.engine import Engine
from app.safe_text import JOINER, safe_history, safe_markdown
from app.session import Session
from app.store import SessionStore
from app.ui import ChatUI
from backends.config import Settings, get_settings
from backends.redact import redact_text, redact_url
from tests.browser_support import free_port
from tests.test_app_engine import FakeBackend, RulePolicy

pytestmark = pytest.mark.abuse

PASSWORD = "pw-Zq8-do-not-show"  # the login inside OPENAI_BASE_URL
KEY = "sk-lcio-abuse-test-key-0123456789"
HOSTILE = ("<img src={u}/img-tag> ![x]({u}/md-image) <script>fetch('{u}/script');window.__xss=1"
           "</script> <img src=x onerror=\"fetch('{u}/onerror');window.__xss=2\"> "
           "<iframe src={u}/iframe></iframe> <link rel=stylesheet href={u}/css>")


def live_markup(text: str) -> list[str]:
    """What HTML or Markdown could still turn into an element: a tag opener or an image."""
    return re.findall(r"<[A-Za-z/!?]", text) + re.findall(r"(?<!\\)!\[", text)


@pytest.mark.parametrize("text", [
    HOSTILE.format(u="http://127.0.0.1:9"),
    "```\n<img src=http://x/fenced>\n```\n`<b>` ``<i>`` ![a](http://x/y)",
    "  ```\n```\n<img src=http://x/fence-trick>\n```",  # a fence only a full parser sees
    "unclosed ```html\n<script>alert(1)</script>",
    "&lt;img src=x&gt; \\![a](b) !![c](d) <\nimg> </script >",
])
def test_safe_markdown_leaves_no_live_markup(text: str) -> None:
    out = safe_markdown(text)
    assert live_markup(out) == []
    visible = out.replace("&lt;", "<").replace("&amp;", "&").replace(JOINER, "").replace("!\\[", "![")
    assert visible == text, "inert, but every character still shown"


def test_safe_markdown_is_linear_on_hostile_input() -> None:
    """Megabytes of backticks must not pin a CPU (a quadratic regex took 27 s for 32 k). The
    bound is 50x what linear needs here: a complexity guard, not a speed target."""
    import time

    for text in ("`" * 200_000, "`" * 200_000 + "x", "```" + "`x" * 100_000):
        started = time.process_time()
        assert len(safe_markdown(text)) >= len(text)
        assert time.process_time() - started < 10


def test_safe_markdown_keeps_formatting_and_code() -> None:
    out = safe_markdown("**bold** > quote\n```python\nif a < b and c & d:\n    pass\n```")
    assert out.startswith("**bold** > quote") and "a <" + JOINER + " b and c & d" in out
    assert safe_history([{"role": "user", "content": {"path": "/x.png"}},
                         {"role": "assistant", "content": "<b>"}]) == [
        {"role": "user", "content": {"path": "/x.png"}},
        {"role": "assistant", "content": "&lt;b>"}]


@pytest.mark.parametrize("url, shown", [
    (f"http://lcio-user:{PASSWORD}@10.0.0.5:8000/v1?token=abc", "10.0.0.5:8000"),
    (f"https://u:{PASSWORD}@api.example.com/v1", "api.example.com"),
    ("http://[::1]:11434/v1", "[::1]:11434"),
    ("not a url", "the configured endpoint"),
    (None, "the configured endpoint"),
])
def test_redact_url_is_host_and_port_only(url: str | None, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_removes_logins_in_any_url() -> None:
    text = (f"GET http://lcio-user:{PASSWORD}@h/v1 failed; retry ftp://a:b@c/ ({PASSWORD}) "
            "-https://c:d@e 1http://f:g@h")
    out = redact_text(text, [PASSWORD])
    assert PASSWORD not in out and "http://[redacted]@h/v1" in out
    assert not any(login in out for login in ("a:b@", "c:d@", "f:g@"))


def test_redact_text_is_linear_on_hostile_input() -> None:
    """Every log row passes through it, prompts included (a backtracking pattern took 16 s
    for 40 KB of "a.a.a."). 50x what linear needs: a complexity guard, not a speed target."""
    import time

    for text in ("a." * 200_000, "a-" * 200_000 + "://", "http://" + "a:" * 200_000):
        started = time.process_time()
        redact_text(text, [PASSWORD])
        assert time.process_time() - started < 10


@pytest.fixture
def login_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Process settings whose OPENAI_BASE_URL carries a login (a closed port: never reached)."""
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://lcio-user:{PASSWORD}@127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("LCIO_CLOUD_MODEL", "some-model")
    monkeypatch.setenv("LCIO_CLOUD_MAX_RETRIES", "0")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_header_hides_the_url_login(login_settings: Settings, tmp_path: Path) -> None:
    from app.runtime import Runtime
    from backends.cloud import CloudBackend

    runtime = Runtime(login_settings, log_path=tmp_path / "log.sqlite",
                      policies={"rule": RulePolicy},
                      backends={"local": FakeBackend("local", ["hi"]),
                                "cloud": CloudBackend(login_settings)})
    shown = json.dumps(runtime.models())
    assert PASSWORD not in shown and "lcio-user" not in shown and "127.0.0.1:" in shown


def test_process_logs_hide_the_url_login_and_key(login_settings: Settings, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs every request's full URL at INFO, login included; the runtime's log filter
    removes it, and the key, from every library's messages."""
    import logging

    from app.runtime import Runtime

    Runtime(login_settings, log_path=tmp_path / "log.sqlite", policies={"rule": RulePolicy},
            backends={"local": FakeBackend("local", ["hi"]), "cloud": FakeBackend("cloud", ["yo"])})
    with caplog.at_level(logging.INFO):
        logging.getLogger("httpx").info('HTTP Request: GET %s "HTTP/1.1 200 OK"',
                                        login_settings.openai_base_url)
        logging.getLogger("openai").warning("retrying with key %s", KEY)
    assert "HTTP Request: GET http://[redacted]@127.0.0.1:" in caplog.text
    assert PASSWORD not in caplog.text and KEY not in caplog.text


def test_fallback_message_and_log_hide_the_url_login(login_settings: Settings,
                                                     tmp_path: Path) -> None:
    """A cloud that cannot be reached: the fallback note names host:port only, and the
    log row (and its export) hold neither the login nor the key."""
    from backends.cloud import CloudBackend

    store = SessionStore(tmp_path / "log.sqlite")
    backends = {"local": FakeBackend("local", ["local ", "answer"]),
                "cloud": CloudBackend(login_settings)}
    engine = Engine(store, lambda n: RulePolicy(), backends.__getitem__,
                    price_usd=lambda *tokens: 0.0005, settings=login_settings)
    session = Session(policy_name="rule")
    record = list(engine.run(session, "hello"))[-1].record  # RulePolicy: text goes to the cloud
    assert record.fallback and "127.0.0.1:" in record.fallback, record.fallback
    store.log_turn({"session_id": "s", "turn_index": 9,
                    "error": f"quoting {login_settings.openai_base_url} and {PASSWORD} and {KEY}"})
    for text in (record.fallback, record.error or "", store.export("csv"), store.export("jsonl")):
        assert PASSWORD not in text and KEY not in text and "lcio-user:" not in text


@pytest.fixture
def two_sessions(tmp_path: Path) -> tuple[ChatUI, Session, Session]:
    store = SessionStore(tmp_path / "log.sqlite")
    backends = {"local": FakeBackend("local", ["hi"]), "cloud": FakeBackend("cloud", ["yo"])}
    engine = Engine(store, lambda n: RulePolicy(), backends.__getitem__, price_usd=lambda *tokens: 0.0)
    ui = ChatUI(engine, {"local": "l", "cloud": "c"}, ["rule"])
    mine, theirs = Session(policy_name="rule"), Session(policy_name="rule")
    list(ui.respond("their secret prompt", [], theirs))
    list(ui.respond("my prompt", [], mine))
    return ui, mine, theirs


def test_export_holds_only_the_callers_session(two_sessions: tuple[ChatUI, Session, Session]
                                               ) -> None:
    ui, mine, theirs = two_sessions
    paths = [Path(ui.export(fmt, mine)) for fmt in ("CSV", "JSONL", "CSV")]
    for path in paths:
        text = path.read_text()
        assert "my prompt" in text and "their secret prompt" not in text and theirs.id not in text
        folder = path.parent
        assert len(folder.name) >= 32, "the folder name is a secret (token_urlsafe)"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert len({p.parent for p in paths}) == 3, "one folder per export"
    assert ui.export("CSV", None) is None


def test_export_log_cli_exports_everything_for_the_operator(
        two_sessions: tuple[ChatUI, Session, Session], tmp_path: Path) -> None:
    from app.tools.export_log import main

    ui, mine, theirs = two_sessions
    out = tmp_path / "all.jsonl"
    assert main(["--log", str(ui.engine.store.path), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["session_id"] for r in rows} == {mine.id, theirs.id}
    assert main(["--log", str(tmp_path / "none.sqlite"), "--out", str(out)]) == 1


def test_file_names_and_errors_are_shown_inert(two_sessions: tuple[ChatUI, Session, Session],
                                               tmp_path: Path) -> None:
    """A file named like markup (possible on disk, in a study's task files, or in an error)."""
    from PIL import Image

    ui, mine, _ = two_sessions
    named = tmp_path / "<img src=x onerror=alert(1)>.png"
    Image.new("RGB", (4, 4)).save(named)
    empty = tmp_path / "<script>alert(2)<\u2044script>.png"
    empty.write_bytes(b"")
    for files in ([str(named)], [str(empty)]):
        outs = list(ui.respond({"text": "<b>look</b>", "files": files}, [], mine))
        history, _, card, *_ = outs[-1]
        texts = [m["content"] for m in history if isinstance(m["content"], str)]
        assert texts and all(live_markup(t) == [] for t in texts), texts
        assert "<img" not in card and "<script" not in card



def test_study_page_chat_is_inert() -> None:
    """The study page's Chatbot gets the same treatment (its render() is the only way out)."""
    from app.study.service import View
    from app.study.ui import StudyUI

    hostile = HOSTILE.format(u="http://127.0.0.1:9")
    view = View("rate", "p-0", [{"role": "user", "content": hostile},
                                {"role": "assistant", "content": f"sure: {hostile}"}])
    for mode in ("likert", "pairwise"):  # render reads only the study's mode
        ui = SimpleNamespace(config=SimpleNamespace(mode=mode))
        if mode == "pairwise":
            view.left, view.right = view.messages, view.messages
        outputs = StudyUI.render(ui, view)  # type: ignore[arg-type]
        chats = [o for o in outputs if isinstance(o, list) and o]  # the Chatbots' values
        assert chats and all(len(m) == 2 for m in chats)
        assert all(live_markup(m["content"]) == [] for chat in chats for m in chat)
