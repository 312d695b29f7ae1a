"""What Gradio's file and upload routes let an anonymous client do to the chat's server
(issue 21 items 3 and 7): download the chat's log (never), store files above the app's own
attachment limit (refused), keep files on the server's disk (deleted on a schedule).
Raw HTTP against the chat's Blocks served in this process on fake models."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from gradio import utils as gr_utils

from app.runtime import Runtime
from app.ui import ChatUI
from backends.config import Settings
from tests.browser_support import attach, launched
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


BOUNDARY = "lcio-test-upload"


def post_upload(url: str, files: list[tuple[str, bytes]]) -> tuple[int, str]:
    """POST /gradio_api/upload as a script does (multipart, no session): (status, body)."""
    body = b"".join(
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
        for name, data in files) + f"--{BOUNDARY}--\r\n".encode()
    request = urllib.request.Request(f"{url}gradio_api/upload", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


@pytest.fixture
def served_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The chat page launched with the app's upload limits, as `python app.py` launches it,
    its Gradio folder a temp folder of its own; a 1 MB cap and a 2 s keep time from the
    environment, swept every second."""
    from app.uploads import kept_files, launch_options

    folder = tmp_path / "gradio"
    for key, value in {"GRADIO_TEMP_DIR": str(folder), "LCIO_MAX_ATTACHMENT_MB": "1",
                       "LCIO_TEMP_FILES_KEEP_S": "2", "LCIO_TEMP_FILES_SWEEP_S": "1"}.items():
        monkeypatch.setenv(key, value)
    runtime = fake_runtime(tmp_path / "log.sqlite")
    demo = ChatUI(runtime.engine, {}, runtime.policy_names).build()
    with launched(demo, **launch_options(demo, Settings())) as url:
        yield url, folder, kept_files(demo)


def left_behind(folder: Path, own: set[str]) -> list[Path]:
    """What is in Gradio's folder besides the page's own files (`own`: the examples' media,
    which Gradio keeps and the sweep spares) and the folders that hold them."""
    kept = {Path(k) for k in own}
    return [p for p in folder.rglob("*") if p not in kept and not any(p in k.parents for k in kept)]


def test_an_upload_over_the_apps_limit_is_refused_and_nothing_is_kept(served_chat) -> None:
    """Item 3: the cap is the app's own attachment limit (was 200 MB), per file and per
    request; a refused upload leaves nothing on disk."""
    url, folder, own = served_chat
    status, text = post_upload(url, [("big.png", os.urandom(2**20 + 1))])
    assert status == 413 and "maximum allowed size of 1048576 bytes" in text, (status, text)
    status, text = post_upload(url, [(f"f{i}.png", os.urandom(2**20 - 4096)) for i in range(10)])
    assert status == 413 and "at most 8 files of 1 MB" in text, (status, text)
    assert not [p for p in left_behind(folder, own) if p.is_file()], "nothing of a refused upload stays"
    status, text = post_upload(url, [("ok.png", os.urandom(2**20))])  # exactly the limit
    assert status == 200 and Path(json.loads(text)[0]).is_file()


def test_old_uploads_and_aborted_ones_are_deleted_on_schedule(served_chat) -> None:
    """Item 3: an upload, and the orphan an aborted upload leaves, are gone once older than
    LCIO_TEMP_FILES_KEEP_S (2 s here); Gradio's folder is left empty."""
    url, folder, own = served_chat
    assert own, "the page's examples are files Gradio keeps (the sweep must spare them)"
    status, text = post_upload(url, [("old.png", os.urandom(50_000))])
    kept = Path(json.loads(text)[0])
    assert status == 200 and kept.is_file()
    abort_upload(url, 400_000)
    orphans = [p for p in folder.iterdir() if p.is_file()]
    assert orphans, "an aborted upload leaves Gradio's temp file (what the sweep must catch)"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and left_behind(folder, own):
        time.sleep(0.5)
    assert not kept.exists() and not any(p.exists() for p in orphans)
    assert not left_behind(folder, own), "no file and no empty folder is left but the page's own"
    assert all(Path(k).is_file() for k in own), "the examples' media survive the sweep"
    status, text = post_upload(url, [("new.png", os.urandom(50_000))])
    assert status == 200 and Path(json.loads(text)[0]).is_file(), "uploads go on after sweeps"


def abort_upload(url: str, size: int) -> None:
    """Half of a declared upload, then the connection closed (a client that gives up)."""
    parts = urllib.parse.urlsplit(url)
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\""
            f"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port)) as conn:
        conn.sendall((f"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/"
                      f"form-data; boundary={BOUNDARY}\r\nContent-Length: {size}\r\n\r\n").encode()
                     + head + os.urandom(size // 2))
        time.sleep(1.0)
    time.sleep(0.5)  # the server notices the disconnect


def test_sweep_keeps_young_and_kept_files_and_removes_emptied_folders(tmp_path: Path) -> None:
    from app.uploads import sweep

    old, kept = tmp_path / "a" / "old.png", tmp_path / "kept.png"
    old.parent.mkdir()
    for path in (old, kept):
        path.write_bytes(b"x" * 10)
    later = time.time() + 60  # the sweep's clock, a minute on
    assert sweep(tmp_path, 100, now=later) == (set(), 0), "younger than the keep time"
    removed, freed = sweep(tmp_path, 50, keep={str(kept)}, now=later)
    assert removed == {str(old)} and freed == 10
    assert kept.exists() and not (tmp_path / "a").exists(), "its emptied folder goes too"


@pytest.mark.browser
def test_the_browser_says_a_file_is_too_large_and_the_chat_stays(served_chat,
                                                                  tmp_path: Path) -> None:
    """What a person sees when a file is over the cap: Gradio's page refuses it before
    sending, naming the file and the limit; the conversation and the box are as they were."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    url, _, _ = served_chat
    big = tmp_path / "holiday.png"
    big.write_bytes(os.urandom(2**20 + 1))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#msg textarea", timeout=60_000)
            page.fill("#msg textarea", "hello")
            page.press("#msg textarea", "Enter")
            page.wait_for_function("() => { const chat = document.querySelector('#chat');"
                                   " return chat.innerText.includes(' s') &&"
                                   " !chat.innerText.includes('answering'); }", timeout=30_000)
            page.wait_for_timeout(500)
            before = page.locator("#chat").inner_text()
            attach(page, [big])
            toast = page.locator("[data-testid='toast-body']").first
            toast.wait_for(timeout=15_000)
            assert "exceed the maximum allowed size of 1.0 Mb" in toast.inner_text()
            assert "holiday.png" in toast.inner_text()
            assert page.locator("#chat").inner_text() == before
            assert page.locator("#msg .thumbnail-item, #msg .thumbnail-wrapper").count() == 0
        finally:
            browser.close()


def test_the_upload_guard_refuses_before_reading(tmp_path: Path) -> None:
    """No length (a chunked body of any size): 411; too long: 413; too little disk left: 507."""
    from app.uploads import MULTIPART_SLACK, UploadGuard

    def scope(length: int | None, path: str = "/gradio_api/upload") -> dict:
        headers = [] if length is None else [(b"content-length", str(length).encode())]
        return {"type": "http", "method": "POST", "path": path, "headers": headers}

    guard = UploadGuard(None, file_cap=2**20, min_free=0, folder=str(tmp_path / "not-yet"))
    assert guard.refusal(scope(None))[0] == 411
    assert guard.refusal(scope(8 * 2**20 + MULTIPART_SLACK + 1))[0] == 413
    assert guard.refusal(scope(8 * 2**20 + MULTIPART_SLACK)) is None
    full = UploadGuard(None, file_cap=2**20, min_free=shutil.disk_usage(tmp_path).free + 1,
                       folder=str(tmp_path))
    assert full.refusal(scope(1000)) == (507, "The server is short of disk space; please try "
                                               "again later.")
