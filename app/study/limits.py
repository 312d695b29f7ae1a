"""Throttles against a stranger with a script: researcher-token guessing and consent flooding.

Both are counted per client address (app/client_address.py: the connection's own unless a
proxy is trusted) and for everyone together (an attacker with many addresses still meets
the global limit). Counts live in this process: with several
replicas each enforces its own limits, so the effective limit is at most N times the
configured one; the reverse proxy in front can add its own.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable

from pydantic import BaseModel, Field

GLOBAL = "*"


class StudyLimits(BaseModel):
    """The study config's `[limits]` table; defaults suit a study run with strangers."""

    consent_per_ip: int = Field(20, ge=1)  # new participants per address per window
    consent_per_ip_window_s: float = Field(3600.0, gt=0)
    consent_global: int = Field(60, ge=1)  # new participants per window, all addresses
    consent_global_window_s: float = Field(60.0, gt=0)
    token_failures_per_ip: int = Field(5, ge=1)  # wrong researcher tokens before a lockout
    token_failures_global: int = Field(20, ge=1)
    token_window_s: float = Field(60.0, gt=0)
    token_lockout_s: float = Field(300.0, ge=0)
    # Behind a reverse proxy every request comes from the proxy; trust its X-Forwarded-For
    # only if the proxy sets it (otherwise a client could pick its own address). Untrusted,
    # the address is the connection's peer, whatever the header says; trusted, it is the
    # entry `forwarded_hops` from the right, the one the outermost of that many appending
    # proxies wrote (app/client_address.py).
    trust_forwarded_for: bool = False
    forwarded_hops: int = Field(1, ge=1)


class SlidingWindow:
    """At most `limit` events per `window_s` seconds per key."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._recent(key, self.clock()))

    def add(self, key: str) -> int:
        """Record one event; the count in the window, this one included."""
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            events.append(now)
            return len(events)

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def try_add(self, key: str) -> bool:
        """Record an event only if it is within the limit; False (nothing recorded) if not."""
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True


class ConsentLimiter:
    """New participants per address and overall; refusing creates nobody."""

    def __init__(self, limits: StudyLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_ip = SlidingWindow(limits.consent_per_ip, limits.consent_per_ip_window_s, clock)
        self.overall = SlidingWindow(limits.consent_global, limits.consent_global_window_s, clock)
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        with self._lock:  # both or neither are counted
            if self.per_ip.count(address) >= self.per_ip.limit:
                return False
            if not self.overall.try_add(GLOBAL):
                return False
            self.per_ip.add(address)
            return True


class TokenGate:
    """The researcher token, compared in constant time, with lockouts after failures.

    After `token_failures_per_ip` wrong tokens from one address within the window, that
    address is locked out for `token_lockout_s`; after `token_failures_global` from all
    addresses together, everyone is (the real researcher waits too: a documented trade-off
    against a distributed guesser). While locked, no token is compared at all, so guesses
    made then learn nothing. Each further lockout of the same address doubles.
    """

    def __init__(self, expected: str, limits: StudyLimits,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.expected = expected
        self.limits = limits
        self.clock = clock
        self.failures = SlidingWindow(limits.token_failures_per_ip, limits.token_window_s, clock)
        self._locked_until: dict[str, float] = {}
        self._lockouts: dict[str, int] = {}
        self._lock = threading.Lock()

    def locked_for(self, address: str) -> float:
        """Seconds this address must still wait (0: not locked)."""
        now = self.clock()
        with self._lock:
            until = max(self._locked_until.get(address, 0.0), self._locked_until.get(GLOBAL, 0.0))
        return max(0.0, until - now)

    def check(self, given: str | None, address: str) -> bool:
        if self.locked_for(address) > 0:
            return False
        if self.expected and given and hmac.compare_digest(
                str(given).encode("utf-8"), self.expected.encode("utf-8")):
            return True
        if self.expected:  # with no token configured nobody gets in; nothing to guess
            self._fail(address)
        return False

    def _fail(self, address: str) -> None:
        mine = self.failures.add(address)
        everyone = self.failures.add(GLOBAL)
        now = self.clock()
        for key, count, limit in ((address, mine, self.limits.token_failures_per_ip),
                                  (GLOBAL, everyone, self.limits.token_failures_global)):
            if count >= limit:
                with self._lock:
                    n = self._lockouts.get(key, 0)
                    self._lockouts[key] = n + 1
                    self._locked_until[key] = now + self.limits.token_lockout_s * 2 ** min(n, 6)
                self.failures.reset(key)  # a fresh count after the lockout
