"""The stand-in's bridge from a blocking `Backend.stream` to the server's event loop.

Generation is serialised (one model, one lock) while HTTP stays concurrent: each answer runs
in a thread of its own and hands its items to an asyncio queue, ending with `END`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from backends.base import Backend
from backends.types import ChatRequest

END = object()  # the last item of every generation


class Generation:
    """Runs `backend.stream` in its own thread, one at a time, handing items to asyncio."""

    def __init__(self, backend: Backend, chat: ChatRequest, lock: threading.Lock,
                 cleanup: Callable[[], None]) -> None:
        self.chat = chat
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(self.queue.put_nowait, item)
            except RuntimeError:  # the server shut down mid-answer: nobody is listening
                chat.stop.set()

        def work() -> None:
            try:
                with lock:
                    if chat.stop.is_set():
                        return
                    for item in backend.stream(chat):
                        put(item)
            except Exception as exc:  # noqa: BLE001 (handed to the request, mapped to HTTP)
                put(exc)
            finally:
                cleanup()
                put(END)

        self.thread = threading.Thread(target=work, name="lcio-standin-generate", daemon=True)
        self.thread.start()

    async def items(self) -> AsyncIterator[Any]:
        while True:
            item = await self.queue.get()
            if item is END:
                return
            yield item

    def cancel(self) -> None:
        self.chat.stop.set()
