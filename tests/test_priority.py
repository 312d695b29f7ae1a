"""The stand-in cloud runs below the app's CPU priority (backends/priority.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backends.priority import lower_priority

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's setpriority")


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


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
