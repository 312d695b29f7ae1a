"""Answer generation runs below the app's CPU priority (backends/priority.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from backends.priority import lower_priority, lower_this_thread

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def test_a_lowered_thread_and_the_threads_it_starts_run_lower_while_the_caller_does_not() -> None:
    base = _nice(threading.get_native_id())
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = _nice(threading.get_native_id())

    def worker() -> None:
        lower_this_thread(4)
        seen["worker"] = _nice(threading.get_native_id())
        helper = threading.Thread(target=child)  # as an OpenMP team is started, later
        helper.start()
        helper.join()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == {"worker": min(19, base + 4), "child": min(19, base + 4)}
    assert _nice(threading.get_native_id()) == base  # the process's other threads keep theirs


def test_a_process_is_lowered_and_capped_at_19_and_zero_changes_nothing() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        base = _nice(process.pid)
        lower_priority(process.pid, 0)
        assert _nice(process.pid) == base
        lower_priority(process.pid, 3)
        assert _nice(process.pid) == min(19, base + 3)
        lower_priority(process.pid, 40)
        assert _nice(process.pid) == 19
    finally:
        process.kill()
        process.wait()


def test_a_gone_process_is_ignored() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    lower_priority(process.pid, 5)  # no error: it ran at whatever priority it had
