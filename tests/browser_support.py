"""What the browser tests share: Debian's chromium flags and `python app.py` on a free port.

The app is started exactly as the README says, configured only through environment
variables (Gradio's own GRADIO_SERVER_* and LCIO_*), with no real cloud credentials.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.tools.predict_browser import ARGS, CHROMIUM  # noqa: F401 (the page check's chromium, shared)
from backends.config import OFFLINE_ENV

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("LCIO_TEST_OUT", ROOT / "runs" / "test-output"))
OFFLINE = OFFLINE_ENV  # what everything the project starts is given


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def small_standin_env() -> dict[str, str]:
    """Apps started by tests serve the small SmolLM2 stand-in, not Qwen (≈40 s more to load).

    The default stand-in (Qwen from its parts) has its own test in tests/test_standin_model.py.
    """
    from backends.models import embedded_gguf_path

    return {"LCIO_STANDIN_MODEL": str(embedded_gguf_path())}


@contextmanager
def running_app(workdir: Path, env: dict[str, str], startup_s: float = 240,
                python: str = sys.executable, log_name: str = "app.log") -> Iterator[str]:
    """Start `python app.py` with `env` added (its log in `workdir/log_name`); yield its URL."""
    port = free_port()
    full_env = {**os.environ, **OFFLINE, **small_standin_env(), "GRADIO_SERVER_NAME": "127.0.0.1",
                "GRADIO_SERVER_PORT": str(port), "LCIO_STANDIN_PORT": str(free_port()), **env}
    full_env.pop("OPENAI_API_KEY", None), full_env.pop("OPENAI_BASE_URL", None)
    log_path = workdir / log_name
    with log_path.open("wb") as log:
        proc = subprocess.Popen([python, "app.py"], cwd=ROOT, env=full_env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + startup_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"app exited: {log_path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError("app did not start")
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def short_answer_app(factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`python app.py` answering in at most 16 tokens, with a log of its own: (URL, log path)."""
    log = factory.mktemp("log") / "sessions.sqlite"
    with running_app(factory.mktemp("app"), {"LCIO_MAX_NEW_TOKENS": "16",
                                             "LCIO_LOG_PATH": str(log)}) as url:
        yield url, log


@contextmanager
def launched(demo: Any, **launch: Any) -> Iterator[str]:
    """A page's Blocks served in this process on 127.0.0.1 (a free port), for gradio_client or
    raw HTTP; closed after. `launch` adds Gradio launch options (the app's own upload limits)."""
    demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                        quiet=True, **launch)
    try:
        yield demo.local_url
    finally:
        demo.close()


def attach(page: Any, files: list[Path] | tuple[Path, ...]) -> None:
    """Attach files as a person does: click the box's paperclip, pick them in the file chooser."""
    with page.expect_file_chooser(timeout=30_000) as chooser:
        page.click("#msg .upload-button")
    chooser.value.set_files([str(f) for f in files])
