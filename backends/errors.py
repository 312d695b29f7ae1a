"""Named failures the app can show to a person and act on (retry, fall back to local).

Every message is written for the person chatting, never contains a secret, and the class
says what the app should do: `retryable` errors may succeed on another try or elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backends.types import Completion


class BackendError(Exception):
    """Base of every error a backend raises on purpose."""

    retryable: bool = False
    # What was already spent before it failed (a stream cut off after some chunks): the
    # caller charges it to the budget. None when nothing was spent.
    partial_cost: Completion | None = None

    def __init__(self, message: str, cost_usd: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        # What the failed call already cost (a stream that broke after some chunks): the app
        # books it, so a failure is never cheaper on the ledger than on the bill.
        self.cost_usd = max(0.0, cost_usd)


class CloudUnavailable(BackendError):
    """The cloud endpoint could not be reached or answered with a server error."""

    retryable = True


class CloudTimeout(CloudUnavailable):
    """The cloud did not answer in time."""


class CloudRateLimited(CloudUnavailable):
    """The cloud refused for now (HTTP 429)."""


class CloudStreamDropped(CloudUnavailable):
    """The cloud's stream ended before the answer was complete."""


class CloudRefused(BackendError):
    """The cloud rejected the request itself (bad key, unknown model, bad request)."""


class ModalityRefused(BackendError):
    """An attachment's kind is not accepted by the backend it was sent to."""


class UnreadableAttachment(BackendError):
    """An image or audio file is corrupt, of an unsupported type, or too large."""


class PromptTooLong(BackendError):
    """The turn alone does not fit in the model's context window."""
