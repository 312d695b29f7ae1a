"""The stand-in's switchable faults, so a client's error handling is exercised over real HTTP.

A `Fault` is what to break in one response (parsed from `X-LCIO-Fault`, `/admin/fault` or
LCIO_STANDIN_FAULT); a `FaultSwitch` holds the standing fault and the next N queued ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """What to break in one response: an HTTP status, an early stream end, an extra delay."""

    status: int | None = None
    drop_after: int | None = None
    delay_s: float = 0.0
    no_usage: bool = False

    @classmethod
    def parse(cls, spec: str | None) -> Fault:
        """Parse "429", "500", "drop", "drop:3", "delay:2.5", "nousage" (comma-separated)."""
        status: int | None = None
        drop_after: int | None = None
        delay = 0.0
        no_usage = False
        for part in (spec or "").replace(" ", "").lower().split(","):
            if not part or part == "none":
                continue
            name, _, arg = part.partition(":")
            if name.isdigit() and 400 <= int(name) <= 599:
                status = int(name)
            elif name == "drop":
                drop_after = int(arg) if arg else 1
            elif name == "delay" and arg:
                delay = float(arg)
            elif name == "nousage":
                no_usage = True
            else:
                raise ValueError(f"unknown fault {part!r}")
        return cls(status, drop_after, delay, no_usage)

    @property
    def active(self) -> bool:
        return (self.status is not None or self.drop_after is not None or self.delay_s > 0
                or self.no_usage)


@dataclass
class FaultSwitch:
    """Faults set at start or through /admin/fault; thread-safe, consumed per request."""

    standing: Fault = field(default_factory=Fault)
    queued: Fault = field(default_factory=Fault)
    times: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, fault: Fault, times: int) -> None:
        with self.lock:
            if times <= 0:
                self.standing, self.queued, self.times = fault, Fault(), 0
            else:
                self.queued, self.times = fault, times

    def clear(self) -> None:
        self.set(Fault(), 0)

    def take(self) -> Fault:
        with self.lock:
            if self.times > 0:
                self.times -= 1
                return self.queued
            return self.standing
