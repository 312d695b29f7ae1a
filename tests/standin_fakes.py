"""A fake generator for the stand-in server's protocol and fault tests (real HTTP, fake model).

`EchoBackend` answers with what reached it, as the server decoded it: the text, and for each
attachment its kind and real properties (image size read by Pillow, WAV rate/channels/length),
so a test can prove the bytes made it through the real client, HTTP and the server intact.
"""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Iterator

from backends.base import Backend, StreamItem
from backends.types import Attachment, ChatRequest, Completion


def describe(attachment: Attachment) -> str:
    if attachment.kind == "image":
        from PIL import Image

        with Image.open(attachment.path) as image:
            return f"image:{image.width}x{image.height}"
    with wave.open(str(attachment.path)) as reader:
        seconds = reader.getnframes() / reader.getframerate()
        return f"audio:{reader.getframerate()}hz:{reader.getnchannels()}ch:{seconds:.1f}s"


class EchoBackend(Backend):
    """Echoes the last message word by word; records how many generations overlapped."""

    name = "echo"

    def __init__(self, word_delay_s: float = 0.0) -> None:
        self.word_delay_s = word_delay_s
        self.requests: list[ChatRequest] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        with self._lock:
            self.requests.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            last = request.messages[-1]
            words = ["echo:", *last.text.split(), *(describe(a) for a in last.attachments)]
            sent: list[str] = []
            for word in words[: request.max_new_tokens]:
                if request.stop.is_set():
                    break
                if self.word_delay_s:
                    time.sleep(self.word_delay_s)
                sent.append(word + " ")
                yield word + " "
            prompt = sum(len(m.text.split()) + 3 for m in request.messages)
            yield Completion(
                text="".join(sent),
                backend=self.name,
                model="echo",
                ttft_s=0.0,
                latency_s=0.0,
                prompt_tokens=prompt,
                completion_tokens=len(sent),
                finish_reason="cancelled" if request.stop.is_set() else "stop",
            )
        finally:
            with self._lock:
                self.active -= 1
