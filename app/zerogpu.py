"""Local generation, wrapped for ZeroGPU when the app runs on a Hugging Face Space: the one
part of a turn that wants the GPU Spaces lends for the duration of a call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from backends.base import Backend
from backends.types import ChatRequest, Completion

try:  # ZeroGPU on Hugging Face Spaces; a no-op everywhere else.
    import spaces  # type: ignore[import-not-found]

    _gpu = spaces.GPU
except ImportError:  # pragma: no cover - the normal case off Spaces

    def _gpu(fn: Callable[..., Any]) -> Callable[..., Any]:
        return fn


@_gpu
def local_stream(backend: Backend, request: ChatRequest) -> Iterator[str | Completion]:
    """Local generation, the one part that wants the GPU when Spaces lends one."""
    yield from backend.stream(request)
