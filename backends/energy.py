"""Energy and money of local work, from measured compute time times configured power.

A model of power, not a wattmeter: CPU seconds x `cpu_power_w` plus GPU-busy seconds x
`gpu_power_w`. The CPU seconds are this turn's own, not the process's: the thread that runs
perception (`EnergyMeter.start`/`pause`, `time.thread_time`) and the thread that runs
`model.generate` together with the helper threads it starts (`ThreadGroupClock`). So turns
of other sessions running at the same time are never charged to this one.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
import time
from pathlib import Path
from types import TracebackType

JOULES_PER_KWH = 3.6e6
_PR_SET_NAME = 15
_TASKS = Path("/proc/self/task")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_counter = itertools.count(1)


def energy_cost_usd(energy_j: float, usd_per_kwh: float) -> float:
    """Electricity price of `energy_j` joules."""
    return energy_j / JOULES_PER_KWH * usd_per_kwh


def _set_thread_name(name: str) -> bool:
    """Name the calling OS thread (Linux); threads it creates later inherit the name."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _helpers_cpu_s(name: str, me: int) -> float:
    """CPU seconds of this process's threads called `name`, except thread `me` (from /proc)."""
    total = 0
    try:
        tids = os.listdir(_TASKS)
    except OSError:
        return 0.0
    for tid in tids:
        if int(tid) == me:
            continue
        try:
            stat = (_TASKS / tid / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        if comm == name:
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / _TICKS


class ThreadGroupClock:
    """CPU seconds of the calling thread and of the threads it starts while inside `with`.

    Why: torch runs a generation on the calling thread *and* its OpenMP workers, so the
    thread's own `time.thread_time()` misses about half the work on two cores, while
    `time.process_time()` counts every other session too. On Linux the calling thread gets a
    unique name for the duration, new threads (the OpenMP team) inherit it, and their CPU is
    read from /proc/self/task. Elsewhere only the calling thread is measured.
    Use it in a thread of its own (the name is restored afterwards, helpers keep theirs).
    """

    def __init__(self) -> None:
        self.name = f"lcio-e{next(_counter)}"[:15]
        self.cpu_s = 0.0
        self._tid = threading.get_native_id()
        self._named = False
        self._old_name = ""

    def __enter__(self) -> ThreadGroupClock:
        self._tid = threading.get_native_id()
        try:
            self._old_name = (_TASKS / str(self._tid) / "comm").read_text().strip()
        except OSError:
            self._old_name = ""
        self._named = bool(self._old_name) and _set_thread_name(self.name)
        self._helpers0 = _helpers_cpu_s(self.name, self._tid) if self._named else 0.0
        self._own0 = time.thread_time()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        own = time.thread_time() - self._own0
        helpers = _helpers_cpu_s(self.name, self._tid) - self._helpers0 if self._named else 0.0
        self.cpu_s = own + max(0.0, helpers)
        if self._named:
            _set_thread_name(self._old_name)


class EnergyMeter:
    """Adds up one turn's CPU (and GPU) seconds and prices them.

    `start()`/`pause()` measure the *calling thread* between them (perception): call both
    from the same thread, with no `yield` in between. Work done in other threads (the
    generation) is added with `add_cpu_seconds` from a `ThreadGroupClock`.
    """

    def __init__(self, cpu_power_w: float, gpu_power_w: float, usd_per_kwh: float) -> None:
        self.cpu_power_w = cpu_power_w
        self.gpu_power_w = gpu_power_w
        self.usd_per_kwh = usd_per_kwh
        self._cpu_start: float | None = None
        self.cpu_s = 0.0
        self.gpu_s = 0.0

    def start(self) -> None:
        """Open a measuring window on this thread (no-op if one is open)."""
        if self._cpu_start is None:
            self._cpu_start = time.thread_time()

    def pause(self) -> None:
        """Close the open window, keeping what it measured."""
        if self._cpu_start is not None:
            self.cpu_s += max(0.0, time.thread_time() - self._cpu_start)
            self._cpu_start = None

    def add_cpu_seconds(self, seconds: float) -> None:
        self.cpu_s += max(0.0, seconds)

    def add_gpu_seconds(self, seconds: float) -> None:
        self.gpu_s += max(0.0, seconds)

    def stop(self) -> tuple[float, float]:
        """Close any open window; return (energy in joules, cost in USD) of all windows."""
        self.pause()
        energy = self.cpu_s * self.cpu_power_w + self.gpu_s * self.gpu_power_w
        return energy, energy_cost_usd(energy, self.usd_per_kwh)
