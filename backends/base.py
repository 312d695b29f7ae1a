"""One small interface for everything that answers a turn, and a registry by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

from backends.types import ChatRequest, Completion

StreamItem = str | Completion


class Backend(ABC):
    """Answers a `ChatRequest`, streaming text and ending with its `Completion`.

    `stream` yields text deltas as they are produced and, last, exactly one `Completion`.
    It honours `request.stop` (finish_reason "cancelled") and raises only `BackendError`s.
    """

    name: str = "backend"

    @abstractmethod
    def stream(self, request: ChatRequest) -> Iterator[StreamItem]: ...

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
