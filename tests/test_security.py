"""The abuse suite (`pytest -m abuse`): what an anonymous stranger with a browser or
`gradio_client` can get out of the chat app. Nothing of anyone else's, no credential, no live
HTML.

The first tests are unit scope (handlers, the log, the redaction helpers). The rest run the
real app (`python app.py`, real 4-bit local model, real gradio) once for the module, with its
cloud at an OPENAI_BASE_URL that carries a login, served by the project's stand-in server over
real HTTP. The stand-in's model there is the echo generator of tests/standin_fakes.py: a
hostile answer has to be *reproducible*, and echoing the prompt is how a model repeats an
injected `<img src=...>`. Chromium then shows such a prompt and answer: a local HTTP server
counts every request they could trigger (there must be none).
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import re
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine import Engine
from app.safe_text import JOINER, safe_history, safe_markdown
from app.session import Session
from app.store import SessionStore
from app.ui import ChatUI
from backends.config import Settings, get_settings
from backends.redact import redact_text, redact_url
from tests.browser_support import ARGS, CHROMIUM, OUT, free_port, running_app
from tests.test_app_engine import FakeBackend, RulePolicy

pytestmark = pytest.mark.abuse

PASSWORD = "pw-Zq8-do-not-show"  # the login inside OPENAI_BASE_URL
KEY = "sk-lcio-abuse-test-key-0123456789"
HOSTILE = ("<img src={u}/img-tag> ![x]({u}/md-image) <script>fetch('{u}/script');window.__xss=1"
           "</script> <img src=x onerror=\"fetch('{u}/onerror');window.__xss=2\"> "
           "<iframe src={u}/iframe></iframe> <link rel=stylesheet href={u}/css>")


# -- unit scope -----------------------------------------------------------------------------


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
    text = f"GET http://lcio-user:{PASSWORD}@h/v1 failed; retry ftp://a:b@c/ ({PASSWORD})"
    out = redact_text(text, [PASSWORD])
    assert PASSWORD not in out and "a:b@" not in out and "http://[redacted]@h/v1" in out


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
                    price_usd=lambda p, n: 0.0005, settings=login_settings)
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
    engine = Engine(store, lambda n: RulePolicy(), backends.__getitem__, price_usd=lambda p, n: 0.0)
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
    from app.export_log import main

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
    outputs = StudyUI.render(None, view)  # type: ignore[arg-type]  (render uses no state)
    messages = next(o for o in outputs if isinstance(o, list))  # the Chatbot's value
    assert len(messages) == 2 and all(live_markup(m["content"]) == [] for m in messages)


# -- the real app, as an anonymous stranger ---------------------------------------------------


class HitCounter(http.server.BaseHTTPRequestHandler):
    """Records every request: a page that only shows text must never send one here."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hit_server() -> Iterator[tuple[str, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HitCounter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", HitCounter.hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def echo_cloud() -> Iterator[Any]:
    """The stand-in server (real HTTP, OpenAI protocol) whose model echoes the prompt."""
    from backends.standin import StandinServer
    from tests.standin_fakes import EchoBackend

    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, echo_cloud: Any) -> Iterator[dict[str, Any]]:
    """`python app.py`, its cloud at a base URL with a login, its log in a temp folder."""
    workdir = tmp_path_factory.mktemp("abuse-app")
    log_path = workdir / "sessions.sqlite"
    (workdir / "tmp").mkdir()  # its temp folder: exports and Gradio's uploads, removed with it
    parts = urllib.parse.urlsplit(echo_cloud.base_url)
    base_url = f"http://lcio-user:{PASSWORD}@{parts.netloc}{parts.path}"
    env = {"LCIO_OPENAI_BASE_URL": base_url, "LCIO_OPENAI_API_KEY": KEY,
           "LCIO_LOG_PATH": str(log_path), "LCIO_MAX_NEW_TOKENS": "24",
           "LCIO_CLOUD_MAX_RETRIES": "0",  # an injected fault is not retried away
           "TMPDIR": str(workdir / "tmp")}
    with running_app(workdir, env) as url:
        yield {"url": url, "log": log_path, "app_log": workdir / "app.log", "tmp": workdir / "tmp"}


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def victim(app: dict[str, Any]) -> dict[str, Any]:
    """Someone else's session: a cloud turn with a unique prompt, and its export."""
    from gradio_client import Client

    client = Client(app["url"], verbose=False, download_files=False)  # files as server URLs
    *_, note = client.predict(0.05, 300, 3000, 1, 1 / 3, 1 / 3, "cloud-only",
                              api_name="/new_session")
    session_id = re.search(r"New session (\S+)", note).group(1)
    canary = f"canary-{os.urandom(6).hex()}"
    answer, decision = client.predict({"text": f"remember {canary}", "files": []},
                                      api_name="/chat")
    assert decision["location"] == "cloud" and canary in answer, (answer, decision)
    export = client.predict("CSV", api_name="/export")["url"]
    assert canary in get(export)[1], "the owner gets their own rows"
    return {"canary": canary, "session_id": session_id, "answer": answer, "export": export}


def probe_calls(params: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """Argument lists for one endpoint: every choice of every Radio/Dropdown, else the example
    gradio documents (without files: nothing is fetched from outside)."""
    options: list[list[Any]] = []
    for p in params:
        enum = (p.get("type") or {}).get("enum")
        if enum:
            options.append(list(enum))
            continue
        example = p.get("example_input")
        if isinstance(example, dict) and "files" in example:
            example = {**example, "files": [], "text": "what did the others ask?"}
        elif isinstance(example, dict) and ("path" in example or "url" in example):
            example = None
        options.append([example])
    yield from (list(c) for c in itertools.islice(itertools.product(*options), 24))


@pytest.mark.slow
def test_every_endpoint_gives_a_stranger_nothing_of_another_session(
        app: dict[str, Any], victim: dict[str, Any]) -> None:
    from gradio_client import Client

    stranger = Client(app["url"], verbose=False)
    api = stranger.view_api(print_info=False, return_format="dict")
    endpoints = {**api["named_endpoints"], **api["unnamed_endpoints"]}
    assert {"/chat", "/respond", "/export", "/new_session", "/rate"} <= set(endpoints)
    seen: list[str] = []
    for name, info in endpoints.items():
        for args in probe_calls(info["parameters"]):
            try:
                result = stranger.predict(*args, api_name=name)
            except Exception as exc:  # noqa: BLE001 (an error message is output too)
                result = f"{type(exc).__name__}: {exc}"
            seen.append(f"{name}{args!r} -> {result!r}")
            for value in result if isinstance(result, (list, tuple)) else [result]:
                if isinstance(value, str) and os.path.isfile(value):
                    seen.append(Path(value).read_text(errors="replace"))
    for page in ("config", "gradio_api/info", "gradio_api/info?all_endpoints=true", ""):
        seen.append(get(app["url"] + page)[1])
    everything = "\n".join(seen)
    for secret in (victim["canary"], victim["session_id"], PASSWORD, KEY):
        assert secret not in everything, f"{secret!r} leaked: " + everything[:2000]


@pytest.mark.slow
def test_file_route_serves_no_log_cache_system_or_export_file(
        app: dict[str, Any], victim: dict[str, Any]) -> None:
    from backends.config import Settings as AppSettings

    cache = AppSettings().cache_dir
    cached_file = next((p for p in cache.rglob("*") if p.is_file()), cache / "none")
    originals = list(app["tmp"].glob(f"lcio-exports*/**/lcio-log-{victim['session_id']}*"))
    assert originals, "the export was written where the test looks"
    targets = [app["log"], cache, cached_file, Path("/etc/passwd"), *originals,
               app["log"].parent,
               f"{app['tmp']}/gradio/{'../' * 12}etc/passwd", "..%2F..%2Fetc%2Fpasswd"]
    for target in targets:
        for quoted in (str(target), urllib.parse.quote(str(target))):
            status, body = get(f"{app['url']}gradio_api/file={quoted}")
            assert status in (403, 404), (target, status)
            assert victim["canary"] not in body
    # The owner's own download works (so the 403s above mean something): its URL holds a
    # hash made with this server's secret seed, and is shown only to the owner.
    status, body = get(victim["export"])
    assert status == 200 and victim["canary"] in body and "/gradio_api/file=" in victim["export"]


@pytest.mark.slow
def test_no_login_or_key_in_page_answers_fallbacks_or_log(
        app: dict[str, Any], victim: dict[str, Any], echo_cloud: Any) -> None:
    from gradio_client import Client

    status, page = get(app["url"] + "config")  # the page's components, the header among them
    port = urllib.parse.urlsplit(echo_cloud.base_url).port
    assert status == 200 and f"127.0.0.1:{port}" in page
    urllib.request.urlopen(urllib.request.Request(  # the next cloud request fails: fallback
        f"{echo_cloud.root_url}/admin/fault", data=b'{"fault": "500", "times": 1}',
        headers={"Content-Type": "application/json"}), timeout=10)
    client = Client(app["url"], verbose=False)
    client.predict(0.05, 300, 3000, 1, 1 / 3, 1 / 3, "cloud-only", api_name="/new_session")
    try:
        answer, decision = client.predict({"text": "hello", "files": []}, api_name="/chat")
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{echo_cloud.root_url}/admin/fault",
                                                      method="DELETE"), timeout=10)
    assert decision["fallback"] and "127.0.0.1:" in decision["fallback"], decision
    export = Path(client.predict("JSONL", api_name="/export")).read_text()
    logged = SessionStore(app["log"]).export("jsonl")
    app_log = app["app_log"].read_text(errors="replace")
    for text in (page, answer, json.dumps(decision), export, logged, app_log):
        assert PASSWORD not in text and KEY not in text and "lcio-user:" not in text


@pytest.mark.slow
@pytest.mark.browser
def test_html_in_prompt_and_answer_runs_nothing_and_fetches_nothing(
        app: dict[str, Any], hit_server: tuple[str, list[str]]) -> None:
    from playwright.sync_api import sync_playwright

    base, hits = hit_server
    prompt = HOSTILE.format(u=base)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(app["url"])
            page.wait_for_selector("#msg textarea", timeout=120_000)
            page.get_by_text("Settings: budgets, reward weights, policy").click()
            page.locator("#policy input").click()
            page.get_by_role("option", name="cloud-only").click()
            page.click("#new")
            page.wait_for_function(
                "() => document.querySelector('#note')?.innerText.includes('cloud-only')")
            page.fill("#msg textarea", prompt)
            page.press("#msg textarea", "Enter")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#chat .message')]"
                ".some(m => m.innerText.includes('echo:'))", timeout=120_000)
            time.sleep(2)  # time for any image, script or frame to load
            page.screenshot(path=str(OUT / "abuse-html-inert.png"), full_page=True)
            shown = page.inner_text("#chat")
            xss = page.evaluate("() => window.__xss ?? null")
            live = page.evaluate(
                "() => document.querySelectorAll('#chat img[src*=\"127.0.0.1\"], #chat script,"
                " #chat iframe, #chat link, #chat [onerror]').length")
        finally:
            browser.close()
    assert hits == [] and xss is None and dialogs == [] and live == 0, (hits, xss, dialogs, live)
    assert shown.count(f"<img src={base}/img-tag>") >= 2, "prompt and answer shown as text"


def call_raw(url: str, api_name: str, data: list[Any]) -> str:
    """POST /gradio_api/call/NAME with hand-made JSON (no client-side upload), then read the
    event stream: what a hostile script, not gradio_client, would send."""
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}",
                                     data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        event_id = json.loads(response.read())["event_id"]
    return get(f"{url}gradio_api/call/{api_name}/{event_id}")[1]


@pytest.mark.slow
def test_server_side_paths_in_inputs_are_refused(app: dict[str, Any],
                                                 victim: dict[str, Any]) -> None:
    """A file input naming a path on the server (the log, /etc/passwd) instead of an upload:
    Gradio must refuse it, so no handler echoes it back as a downloadable file."""
    for target in (str(app["log"]), "/etc/passwd"):
        file = {"path": target, "meta": {"_type": "gradio.FileData"}}
        outputs = [
            call_raw(app["url"], "chat", [{"text": "read this", "files": [file]}]),
            call_raw(app["url"], "respond", [{"text": "read this", "files": [file]},
                                             [{"role": "user", "content": [{"file": file}]}]]),
        ]
        for body in outputs:
            assert "event: error" in body or target not in body, body[:1500]
            for path in re.findall(r'"path": ?"([^"]+)"', body):
                status, content = get(f"{app['url']}gradio_api/file={path}")
                assert "root:" not in content and victim["canary"] not in content, path
