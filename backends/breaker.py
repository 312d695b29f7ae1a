"""A circuit breaker for the cloud: once it is unreachable, stop paying a timeout per turn.

After a failure that says the endpoint cannot be reached (connection refused, timeout, the
stand-in not running), the breaker opens: turns fail at once, with a message saying since
when, and at most one short probe per `retry_s` checks whether the cloud is back. A probe
that gets through closes it. Answers the endpoint *gives* (HTTP 429, 500, a refusal) do not
open it: they come back quickly and say something about that one request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Thread-safe open/closed state with one probe slot per interval."""

    def __init__(self, retry_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_s = retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_wall: float | None = None
        self._next_probe = 0.0

    @property
    def is_open(self) -> bool:
        return self._opened_wall is not None

    def trip(self) -> None:
        """Record an unreachable cloud; the next probe is due `retry_s` from now."""
        with self._lock:
            if self._opened_wall is None:
                self._opened_wall = time.time()
            self._next_probe = self._clock() + self.retry_s

    def close(self) -> None:
        with self._lock:
            self._opened_wall = None

    def claim_probe(self) -> bool:
        """True for exactly one caller once the interval has passed (it then probes)."""
        with self._lock:
            if self._opened_wall is None:
                return False
            now = self._clock()
            if now < self._next_probe:
                return False
            self._next_probe = now + self.retry_s
            return True

    def message(self, where: str) -> str:
        since = time.strftime("%H:%M", time.localtime(self._opened_wall or time.time()))
        return (f"The cloud at {where} has been unreachable since {since}; retrying every "
                f"{self.retry_s:g} s.")
