"""The budget guard: mask every action whose worst case the session can no longer pay.

Runs before the policy sees the mask, so no policy, learned or not, can overspend. Worst
case of an action = price-table cost of the prompt plus `max_new_tokens` of answer (cloud
only), and a latency bound of fixed overhead + per-attachment perception + `max_new_tokens`
at the slowest seconds-per-token seen so far on that path (a prior until measured); local
energy = that local latency x the configured CPU/GPU power.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.session import BudgetLedger, Cost
from backends.config import Settings
from backends.types import Attachment, Completion
from policies.base import Action

# Priors until this process has measured its own paths (deliberately pessimistic).
PRIOR_S_PER_TOKEN = {"local": 1 / 8, "cloud": 1 / 10}
OVERHEAD_S = {"local": 1.0, "cloud": 2.0}
PERCEPTION_S = {"image": 3.0, "audio": 2.0}
IMAGE_TOKENS = 1105  # a 1024 px image at high detail, OpenAI's accounting
AUDIO_TOKENS_PER_S = 10
CHARS_PER_TOKEN = 3


@dataclass
class SpeedModel:
    """Slowest recent seconds per generated token per path; shared by all sessions."""

    window: int = 20
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, location: str, completion: Completion) -> None:
        if completion.completion_tokens <= 0 or completion.finish_reason == "cancelled":
            return
        gen_s = max(0.0, completion.latency_s - completion.perception_s)
        with self._lock:
            self._seen.setdefault(location, deque(maxlen=self.window)).append(
                gen_s / completion.completion_tokens)

    def s_per_token(self, location: str) -> float:
        with self._lock:
            seen = self._seen.get(location)
            return max(seen) if seen else PRIOR_S_PER_TOKEN[location]


def prompt_tokens(text: str, history_chars: int) -> int:
    """A generous token count of what is sent (no tokenizer needed for a bound)."""
    return (len(text) + history_chars) // CHARS_PER_TOKEN + 16


def worst_case(action: Action, slots: list[Attachment], always: list[Attachment],
               text: str, history_chars: int, settings: Settings, speed: SpeedModel,
               price_usd: Callable[[int, int], float] | None = None) -> Cost:
    """Upper bound of what taking `action` can cost this turn."""
    used = [slots[i] for i in action.attachments if i < len(slots)] + list(always)
    n_tok = settings.max_new_tokens
    latency = (OVERHEAD_S[action.location]
               + sum(PERCEPTION_S[a.kind] for a in used)
               + n_tok * speed.s_per_token(action.location))
    if action.location == "local":
        return Cost(usd=0.0, latency_s=latency, energy_j=latency * settings.cpu_power_w)
    tokens = prompt_tokens(text, history_chars)
    tokens += sum(IMAGE_TOKENS for a in used if a.kind == "image")
    tokens += sum(AUDIO_TOKENS_PER_S * 60 for a in used if a.kind == "audio")
    usd = price_usd(tokens, n_tok) if price_usd else 0.0
    return Cost(usd=usd, latency_s=latency, energy_j=0.0)


def budget_mask(actions: list[Action], costs: list[Cost], ledger: BudgetLedger
                ) -> tuple[np.ndarray, dict[int, str]]:
    """Which actions the ledger can still pay for, and why each other one cannot."""
    ok = np.ones(len(actions), dtype=bool)
    why: dict[int, str] = {}
    for i, cost in enumerate(costs):
        fits, reason = ledger.can_afford(cost)
        if not fits:
            ok[i] = False
            why[i] = reason
    return ok, why
