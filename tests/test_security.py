"""The abuse suite (`pytest -m abuse`): what an anonymous stranger with a browser or
`gradio_client` can get out of the chat app. Nothing of anyone else's, no credential, no live
HTML. (Unit-scope checks of the same rules: tests/test_security_units.py.)

The real app (`python app.py`, real 4-bit local model, real gradio) runs once for the module,
with its cloud at an OPENAI_BASE_URL that carries a login, served by the project's stand-in
server over real HTTP. The stand-in's model there is the echo generator of
tests/standin_fakes.py: a hostile answer has to be *reproducible*, and echoing the prompt is
how a model repeats an injected `<img src=...>`. Chromium then shows such a prompt and answer:
a local HTTP server counts every request they could trigger (there must be none).
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.store import SessionStore
from backends.config import Settings
from tests.browser_support import ARGS, CHROMIUM, OUT, running_app
from tests.test_security_units import HOSTILE, KEY, PASSWORD

pytestmark = [pytest.mark.abuse, pytest.mark.slow]


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


def test_the_app_stores_no_upload_over_its_attachment_limit(app: dict[str, Any]) -> None:
    """Issue 21 item 3, as `python app.py` launches: the upload route takes at most the app's
    own limit (25 MB by default; it took 200 MB) and keeps an accepted upload only in
    Gradio's temp folder, from which the sweep deletes it (tests/test_served_files.py)."""
    from tests.test_served_files import post_upload

    limit = Settings().max_attachment_bytes
    status, text = post_upload(app["url"], [("big.wav", os.urandom(limit + 1))])
    assert status == 413 and f"maximum allowed size of {limit} bytes" in text, (status, text)
    status, text = post_upload(app["url"], [("small.wav", os.urandom(1000))])
    stored = Path(json.loads(text)[0])
    assert status == 200 and stored.is_file() and app["tmp"] in stored.parents
