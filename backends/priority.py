"""The stand-in cloud runs at a lower CPU priority than the app.

A real cloud computes elsewhere. The stand-in shares this machine's cores, and while it
generates it keeps them busy; at the app's priority, a policy decision or a page event then
waits for a time slice (under 10 sessions on 2 cores, a 0.3 ms decision took up to 16 ms).
Linux keeps a niceness per thread and a new thread inherits its creator's, so lowering a
process while it is still one thread (just started) covers every thread it starts later.
The app's own local model is not lowered: its generating thread holds the GIL between torch
calls, and descheduling it would stall the app's other threads behind it.
"""

from __future__ import annotations

import contextlib
import os


def lower_priority(pid: int, nice: int) -> None:
    """Raise the niceness of process `pid` by `nice` (at most 19); where the platform cannot,
    it runs at normal priority."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + nice))
