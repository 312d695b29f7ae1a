"""Context switches of the calling thread, to tell why a decision took longer than its CPU.

A voluntary switch means the thread waited (for the GIL or a lock); an involuntary one means
the OS gave its core to another thread or process. `app.tools.loadtest` reports slow decisions by
cause from the pair the engine logs. Linux only; elsewhere both counts stay 0.
"""

from __future__ import annotations

try:
    import resource

    _WHO = getattr(resource, "RUSAGE_THREAD", None)
except ImportError:  # not on this platform
    resource, _WHO = None, None  # type: ignore[assignment]


def thread_switches() -> tuple[int, int]:
    """(voluntary, involuntary) context switches of the calling thread so far."""
    if _WHO is None:
        return 0, 0
    usage = resource.getrusage(_WHO)
    return usage.ru_nvcsw, usage.ru_nivcsw
