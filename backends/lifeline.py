"""A child process that ends with its parent: the stand-in server watches the app that started it.

Why not PR_SET_PDEATHSIG: on Linux it fires when the *thread* that forked the child ends, and
the app starts the stand-in from a short-lived warm-up thread, so the child would die right
after warm-up. Polling `os.getppid()` is portable and exact: once the parent is gone, the
child is re-parented (to init or a subreaper) and its parent pid changes. The parent passes
its pid in LCIO_PARENT_PID; a process started by hand (no variable) is not watched.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

PARENT_ENV = "LCIO_PARENT_PID"
log = logging.getLogger(__name__)


def watch_parent(interval_s: float = 0.5, grace_s: float = 5.0) -> threading.Thread | None:
    """If LCIO_PARENT_PID is set, end this process (SIGTERM to itself, so servers shut down
    cleanly; a hard exit after `grace_s`) as soon as that parent is gone."""
    raw = os.environ.get(PARENT_ENV, "")
    if not raw.isdigit():
        return None
    parent = int(raw)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        log.warning("parent process %d is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(0)

    thread = threading.Thread(target=watch, name="lcio-lifeline", daemon=True)
    thread.start()
    return thread
