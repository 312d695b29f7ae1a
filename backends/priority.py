"""Answer generation runs at a lower CPU priority than the app's own work.

On a machine with few cores, a generating model (local threads, or the stand-in cloud's
process) keeps every core busy; at normal priority a policy decision or a page event then
waits for a time slice. Linux keeps a niceness per thread and a new thread inherits its
creator's, so lowering a thread before it starts its OpenMP team (or a process while it is
still one thread) covers all the work it goes on to start.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading


def lower_priority(pid: int, nice: int) -> None:
    """Raise the niceness of thread or process `pid` by `nice` (at most 19); where the
    platform cannot, it runs at normal priority."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + nice))


def lower_this_thread(nice: int) -> None:
    """`lower_priority` for the calling thread alone. Only Linux gives threads their own
    niceness; elsewhere a thread id is no process id, so nothing is changed."""
    if sys.platform.startswith("linux"):
        lower_priority(threading.get_native_id(), nice)
