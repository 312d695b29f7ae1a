"""An SDK stream read on a thread of its own, so Stop or a deadline ends a cloud turn at once.

The SDK blocks until the endpoint sends its first byte; reading it here instead would leave
the turn hanging on a silent endpoint. The reader polls a queue and the stop event instead.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)


class Pump:
    """Iterate an SDK stream on a daemon thread; iteration here ends as soon as `stop` is set
    (before the first byte included), and `close()` closes the HTTP stream from this side."""

    _POLL_S = 0.05

    def __init__(self, open_stream: Callable[[], Any], stop: threading.Event) -> None:
        self._items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = stop
        self._lock = threading.Lock()
        self._stream: Any = None
        self._closed = False
        self.opened = False  # the endpoint answered (errors after this are mid-stream)
        self.stopped = False  # iteration ended because `stop` was set
        threading.Thread(target=self._run, args=(open_stream,), name="lcio-cloud-pump",
                         daemon=True).start()

    def _run(self, open_stream: Callable[[], Any]) -> None:
        try:
            stream = open_stream()
            with self._lock:
                self._stream = stream
                closed = self._closed
            if closed:
                stream.close()
                return
            self._items.put(("open", None))
            for chunk in stream:
                self._items.put(("chunk", chunk))
                if self._stop.is_set():
                    break
            self._items.put(("end", None))
        except BaseException as exc:  # handed to the reader, which raises it
            self._items.put(("error", exc))
        finally:
            self.close()

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                kind, value = self._items.get(timeout=self._POLL_S)
            except queue.Empty:
                if self._stop.is_set():
                    self.stopped = True
                    self.close()
                    return
                continue
            if kind == "open":
                self.opened = True
            elif kind == "chunk":
                yield value
            elif kind == "end":
                return
            else:
                raise value

    def close(self) -> None:
        with self._lock:
            self._closed = True
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing from the reader's side while the pump reads
                log.debug("closing the cloud stream", exc_info=True)
