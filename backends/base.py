"""One small interface for everything that answers a turn, and a registry by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from backends.types import Attachment, ChatRequest, Completion

StreamItem = str | Completion


@dataclass(frozen=True)
class Accepts:
    """What a backend takes with a turn. The engine masks every action that would send it
    anything else before the policy decides, so a refusal never costs a fallback."""

    images: bool = True
    audio: bool = True
    max_audio_s: float | None = None  # None: whatever the app itself admits

    def refuses(self, attachment: Attachment) -> str:
        """Why `attachment` cannot be sent here ("" if it can)."""
        if attachment.kind == "image" and not self.images:
            return "does not accept images"
        if attachment.kind == "audio" and not self.audio:
            return "does not accept audio"
        if (attachment.kind == "audio" and self.max_audio_s is not None
                and attachment.duration_s > self.max_audio_s):
            return f"takes audio up to {self.max_audio_s:g} s"
        return ""


class Backend(ABC):
    """Answers a `ChatRequest`, streaming text and ending with its `Completion`.

    `stream` yields text deltas as they are produced and, last, exactly one `Completion`.
    It honours `request.stop` (finish_reason "cancelled") and raises only `BackendError`s.
    `accepts`, `load`, `model_name` and `endpoint` are what the app reads besides: what it
    takes, getting ready, and what the page names.
    """

    name: str = "backend"

    @abstractmethod
    def stream(self, request: ChatRequest) -> Iterator[StreamItem]: ...

    def accepts(self) -> Accepts:
        """What it takes with a turn (by default, every attachment the app admits)."""
        return Accepts()

    def load(self) -> object:
        """Get ready ahead of the first turn (load weights, build a client); by default nothing."""
        return None

    @property
    def model_name(self) -> str:
        """The model that answers, as the page names it ("" while it is not known yet)."""
        return ""

    @property
    def endpoint(self) -> str | None:
        """Where a remote backend answers (host and port, never a login); None on this machine."""
        return None

    def generate(self, request: ChatRequest) -> Completion:
        """Run `stream` to its end and return the `Completion`."""
        completion: Completion | None = None
        for item in self.stream(request):
            if isinstance(item, Completion):
                completion = item
        assert completion is not None, f"{type(self).__name__}.stream ended without a Completion"
        return completion


BACKENDS: dict[str, Callable[..., Backend]] = {}


def register(name: str) -> Callable[[type[Backend]], type[Backend]]:
    """Class decorator: make a backend constructible by name from configuration."""

    def wrap(cls: type[Backend]) -> type[Backend]:
        cls.name = name
        BACKENDS[name] = cls
        return cls

    return wrap
