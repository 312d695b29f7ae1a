"""The stand-in cloud runs at a lower CPU priority than the app.

A real cloud computes elsewhere. The stand-in shares this machine's cores, and while it
generates it keeps them busy; at the app's priority, a policy decision or a page event then
waits for a time slice (under 10 sessions on 2 cores, a 0.3 ms decision took up to 16 ms).
Linux keeps a niceness per thread and a new thread inherits its creator's, so lowering a
process while it is still one thread (just started) covers every thread it starts later.
The app's own local model is not lowered: its generating thread holds the GIL between torch
calls, and descheduling it would stall the app's other threads behind it.

Even at nice 10 the stand-in's threads still take a core from a decision now and then (10
sessions on 2 cores: p99 4.3-5.2 ms wall for a 0.3 ms decision, every slow one pre-empted).
`idle` (Linux SCHED_IDLE) gives it a core only when nothing else wants one: decisions then
kept p99 1.2 ms. The price is starvation: beside a local answer generating on both cores the
stand-in finished no 48-token answer in 9 minutes (3 s alone; 155-175 s at nice 10). So it is
for a machine that serves one person at a time, or a load test of the app itself.
"""

from __future__ import annotations

import contextlib
import os


def lower_priority(pid: int, nice: int, idle: bool = False) -> None:
    """Raise the niceness of process `pid` by `nice` (at most 19), and with `idle` schedule it
    SCHED_IDLE; where the platform cannot, it runs at normal priority."""
    if nice > 0 and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid,
                           min(19, os.getpriority(os.PRIO_PROCESS, pid) + nice))
    if idle and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
