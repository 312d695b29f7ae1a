"""Start the stand-in cloud (backends.server) and wait until it answers; used by the app and tests.

Two ways to run it: in this process (uvicorn in a daemon thread, on a socket bound before
start so there is no port race), or as a child process (`python -m backends.server`), which
keeps its model and CPU work out of the caller's process. Either way `start()` returns only
once `GET /health` answers, and returns the OpenAI base URL (`http://127.0.0.1:PORT/v1`).

Whose server is it? Each start makes a random instance token that the server echoes in
/health; `start()` accepts only that answer, so a foreign program (or a stand-in left over
from an earlier run) on the port is never adopted. `ensure_standin` never reuses a server it
did not start: if the configured port is taken, it starts its own on a free port.

A child process never outlives the app: it runs in its own process group, `stop()` ends the
whole group, and the child watches its parent (`backends.lifeline`) so it ends by itself
when the app is killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Self

from backends.base import Backend
from backends.config import OFFLINE_ENV, Settings, get_settings
from backends.errors import CloudUnavailable
from backends.lifeline import PARENT_ENV
from backends.priority import lower_priority

log = logging.getLogger(__name__)

Mode = Literal["thread", "subprocess"]
REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for the subprocess mode)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def probe(root_url: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """The stand-in's /health answer at `root_url` (no /v1), or None if nothing answers."""
    try:
        with urllib.request.urlopen(f"{root_url}/health", timeout=timeout_s) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("status") == "ok" else None


def note_at(endpoint: str | None) -> str:
    """The stand-in's note (why it fell back to another model) at "host:port" or a base URL.

    "" when there is none or nothing answers: the page shows it only when there is one.
    """
    if not endpoint or " " in endpoint:
        return ""
    root = endpoint if "://" in endpoint else f"http://{endpoint}"
    data = probe(root.rstrip("/").removesuffix("/v1"), timeout_s=0.5)
    return str((data or {}).get("note") or "")


class StandinServer:
    """One running stand-in. `start()` -> base URL; `stop()`; usable as a context manager."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        mode: Mode = "thread",
        host: str | None = None,
        port: int | None = 0,
        backend: Backend | Callable[[], Backend] | None = None,
        delay_s: float | None = None,
        fault: str | None = None,
        api_key: str | None = None,
        startup_timeout_s: float = 600.0,
    ) -> None:
        self.settings = settings or get_settings()
        if mode == "subprocess" and backend is not None:
            raise ValueError("A backend object can only be served in thread mode.")
        self.mode = mode
        self.host = host or self.settings.standin_host
        self.port = self.settings.standin_port if port is None else port
        self._backend = backend
        self._delay_s = delay_s
        self._fault = fault
        self._api_key = api_key
        self.startup_timeout_s = startup_timeout_s
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._error: BaseException | None = None
        self.instance = secrets.token_hex(8)
        self.ready = False  # healthy, and answering as this instance

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def __repr__(self) -> str:
        return f"StandinServer(mode={self.mode!r}, url={self.base_url!r}, alive={self.alive})"

    @property
    def alive(self) -> bool:
        if self._thread is not None:
            return self._thread.is_alive()
        if self._process is not None:
            return self._process.poll() is None
        return False

    def start(self) -> str:
        """Start and wait until healthy; raise CloudUnavailable if it cannot start."""
        if self.alive:
            return self.base_url
        if self.mode == "thread":
            self._start_thread()
        else:
            self._start_process()
        atexit.register(self.stop)
        self._wait_healthy()
        self.ready = True
        log.info("stand-in cloud ready at %s", self.base_url)
        return self.base_url

    def _start_thread(self) -> None:
        import uvicorn

        from backends.server import create_app

        app = create_app(self._backend, self.settings, delay_s=self._delay_s, fault=self._fault,
                         api_key=self._api_key, instance=self.instance)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)

        def serve() -> None:
            try:
                self._server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 (uvicorn may sys.exit; _wait_healthy reports it)
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=serve, name="lcio-standin", daemon=True)
        self._thread.start()

    def _start_process(self) -> None:
        from backends.server import INSTANCE_ENV

        if self.port == 0:
            self.port = free_port(self.host)
        command = [sys.executable, "-m", "backends.server", "--host", self.host,
                   "--port", str(self.port)]
        if self.settings.standin_model:  # else the child picks its default (Qwen or SmolLM2)
            command += ["--model", self.settings.standin_model]
        if self._delay_s is not None:
            command += ["--delay", str(self._delay_s)]
        if self._fault:
            command += ["--fault", self._fault]
        env = {**os.environ, **OFFLINE_ENV}
        if self._api_key:
            env["LCIO_STANDIN_API_KEY"] = self._api_key
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env[INSTANCE_ENV] = self.instance
        env[PARENT_ENV] = str(os.getpid())  # the child ends when this process is gone
        # Its own process group: `stop()` ends it and anything it started, and a Ctrl-C in
        # the terminal reaches only the app, which then stops it in order.
        self._process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True)
        lower_priority(self._process.pid, self.settings.standin_nice)  # while one thread

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if not self.alive:
                self.stop()
                detail = f" ({type(self._error).__name__})" if self._error else ""
                raise CloudUnavailable(f"The stand-in cloud server failed to start{detail}.")
            health = probe(self.root_url)
            if health is not None and health.get("instance") == self.instance:
                return
            if health is not None:  # someone else answers here: never adopt it
                self.stop()
                raise CloudUnavailable(
                    f"Another program answers on {self.host}:{self.port}; the stand-in cloud "
                    "did not start there. Free the port or set LCIO_STANDIN_PORT.")
            time.sleep(0.1)
        self.stop()
        raise CloudUnavailable(
            f"The stand-in cloud server did not become ready within {self.startup_timeout_s:.0f} s."
        )

    def stop(self) -> None:
        """Stop serving and release the port (idempotent); a child's whole group is ended."""
        self.ready = False
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._server = None
        if self._process is not None:
            _end_group(self._process)
            self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _end_group(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM to the child's process group, SIGKILL if it is still there after `timeout_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=timeout_s)
            break
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()
        process.wait()
    try:  # the leader has exited; end anything it left in its group
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_SHARED: StandinServer | None = None  # the process-wide stand-in, once it is ready
_STARTING: StandinServer | None = None  # one being started (stoppable while it loads)
_START_LOCK = threading.Lock()  # one start at a time (held while a model loads)
_REGISTRY_LOCK = threading.Lock()  # guards the two names above (held briefly)
_BACKGROUND: threading.Thread | None = None


def ensure_standin(settings: Settings | None = None, mode: Mode = "thread",
                   wait: bool = True) -> str:
    """Base URL of the process's own stand-in, started now if it is not running (or died):
    on the configured port if free, else on any free port. A server this process did not
    start is never used, even on the configured port (see the module docstring).

    `wait=False` never blocks: if the stand-in is not ready, a start is begun in the
    background (once) and CloudUnavailable says so; a later call finds it ready.
    """
    global _BACKGROUND
    settings = settings or get_settings()
    shared = _SHARED
    if shared is not None and shared.ready and shared.alive:
        return shared.base_url
    if wait:
        return _start_shared(settings, mode)
    with _REGISTRY_LOCK:
        if _BACKGROUND is None or not _BACKGROUND.is_alive():
            def start() -> None:
                try:
                    _start_shared(settings, mode)
                except Exception as exc:  # reported to the next caller through `_SHARED`
                    log.warning("stand-in cloud restart failed: %s", exc)

            _BACKGROUND = threading.Thread(target=start, name="lcio-standin-start", daemon=True)
            _BACKGROUND.start()
    raise CloudUnavailable("The stand-in cloud is starting; it will be used once it is ready.")


def _start_shared(settings: Settings, mode: Mode) -> str:
    global _SHARED, _STARTING
    with _START_LOCK:
        shared = _SHARED
        if shared is not None and shared.ready and shared.alive:
            return shared.base_url
        if shared is not None:
            code = shared._process.poll() if shared._process is not None else None
            log.warning("the stand-in cloud stopped (exit code %s); starting it again", code)
            shared.stop()
        host, port = settings.standin_host, settings.standin_port
        if not _port_free(host, port):
            log.warning("port %s:%d is taken by another program; the stand-in cloud starts on "
                        "a free port instead", host, port)
            port = 0
        server = StandinServer(settings, mode=mode, port=port)
        with _REGISTRY_LOCK:
            _SHARED, _STARTING = None, server
        try:
            url = server.start()
        finally:
            with _REGISTRY_LOCK:
                if _STARTING is server:
                    _STARTING = None
                    _SHARED = server if server.ready else None
        if _SHARED is not server:  # stopped by stop_standin() while it was starting
            server.stop()
            raise CloudUnavailable("The stand-in cloud was stopped while it started.")
        return url


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def stop_standin() -> None:
    """Stop the process-wide stand-in started by `ensure_standin`, also one still starting
    (never blocks on a start in progress: a signal handler calls this)."""
    global _SHARED, _STARTING
    with _REGISTRY_LOCK:
        servers = [s for s in (_SHARED, _STARTING) if s is not None]
        _SHARED = _STARTING = None
    for server in servers:
        server.stop()
