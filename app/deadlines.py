"""Deadlines for running answers: one watchdog thread for all turns, not a timer each.

A turn's answer may run only as long as its session's budget allows; when that time comes,
the deadline sets the turn's stop event (the backends stop at the next token).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time


class Deadlines:
    """One watchdog thread for every running turn: at its time, a deadline sets its events."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, tuple[threading.Event, ...]]] = []
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, *events: threading.Event) -> int:
        """Set `events` in `seconds` unless cancelled first; returns the handle."""
        handle = next(self._ids)
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + seconds, handle, events))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="lcio-deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def cancel(self, handle: int) -> None:
        with self._cond:
            self._due = [d for d in self._due if d[1] != handle]
            heapq.heapify(self._due)

    def _watch(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    for event in heapq.heappop(self._due)[2]:
                        event.set()
                self._cond.wait(timeout=self._due[0][0] - now if self._due else None)
