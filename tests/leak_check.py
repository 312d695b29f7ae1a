"""Session-end check: a test run must leave no process behind (issue 9 item 13).

At the start the run puts a token into its own environment, which every process it starts
inherits (the app, stand-in servers, browsers, and their children, even once re-parented
after their parent died). At the end it looks for live processes that carry the token or
descend from this one, gives them a few seconds to finish exiting, then names the
leftovers, kills them and fails the run. Linux only (/proc); elsewhere it does nothing.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

TOKEN_ENV = "LCIO_TEST_RUN"
GRACE_S = 10.0
# Interpreter helpers that live exactly as long as the test process, by design.
BENIGN = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
PROC = Path("/proc")


def start() -> None:
    os.environ[TOKEN_ENV] = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # gone, or not ours to read
        return b""


def leftovers() -> dict[int, str]:
    """Live processes this run started: {pid: command line}."""
    token = os.environ.get(TOKEN_ENV, "")
    if not token or not PROC.is_dir():
        return {}
    me = os.getpid()
    mark = f"{TOKEN_ENV}={token}".encode()
    parent: dict[int, int] = {}
    marked: set[int] = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        stat = _read(entry / "stat").decode(errors="replace")
        if not stat:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] in ("Z", "X"):  # already dead, only not reaped yet
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        if mark in _read(entry / "environ").split(b"\0"):
            marked.add(pid)
    found: dict[int, str] = {}
    for pid in parent:
        chain, ancestor = 0, parent[pid]
        while ancestor not in (0, 1, me) and chain < 64:
            ancestor, chain = parent.get(ancestor, 0), chain + 1
        if ancestor == me or pid in marked:
            command = _read(PROC / str(pid) / "cmdline").replace(b"\0", b" ").decode(errors="replace")
            if command and not any(b in command for b in BENIGN):
                found[pid] = command.strip()[:200]
    return found


def finish(session: pytest.Session) -> None:
    """Wait up to GRACE_S for the run's processes to end; fail the run if any remain."""
    deadline = time.monotonic() + GRACE_S
    left = leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = leftovers()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests are still running (killed now):"]
    lines += [f"  pid {pid}: {command}" for pid, command in sorted(left.items())]
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
