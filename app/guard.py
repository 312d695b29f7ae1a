"""The app's budget guard, through the one rule of `policies.guard`.

What may start (`admission`): an action whose `LCIO_GUARD_QUANTILE` (default 0.8) upper
quantile of predicted cost (`app.predict.CostPredictor.upper`, never above the worst case
below), plus a pacing reserve (the dialogue's expected remaining turns × its cheapest action's
predicted cost; the turns from the lengths of the sessions in the app's log once it holds 20,
before that from `LCIO_GUARD_TURNS`, default 10), fits what is left, and whose floor (the
worst case of a `FLOOR_TOKENS` answer: what it costs however early it is stopped) fits
outright. Runs before the policy sees the mask.

What keeps the promise (`run_bound`): a started turn reserves its worst case in the ledger,
its answer capped at the most tokens whose worst-case dollars fit what is left (a cloud
endpoint cannot bill past `max_tokens`), its waiting time and energy held up to what is left;
the engine's deadline watchdog stops it where the waiting-time or energy budget runs out. So
no policy, learned or not, and no answer that runs longer than predicted can overspend.

The worst case is built from what is really attached, measured at upload (`Attachment.width`,
`.height`, `.duration_s`):

- dollars (cloud only): the price table applied to an upper bound of every token the
  endpoint can bill: the text (prompt, the history sent with it, chat-format overhead and
  the perception text a text-only endpoint adds) bounded by its UTF-8 bytes, each image at
  its size after the cloud's downscaling in OpenAI's tile accounting, each audio file at its
  real duration in audio tokens (`backends.units`, shared with the price table and the
  stand-in), plus `max_new_tokens` of answer;
- waiting time: fixed overhead + perception that grows with megapixels and seconds of audio
  + prompt reading + `max_new_tokens` at the slowest seconds-per-token seen on that path (a
  pessimistic prior until measured);
- local energy: that local waiting time x the most power a local answer can be charged
  (`local_power_w`: every core the process may use, as energy counts process CPU seconds,
  plus the GPU's power when the local model runs on one).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from app.session import RESOURCES, BudgetLedger, Cost
from backends import units
from backends.config import Settings
from backends.types import Attachment, Completion, Message
from policies import guard as rule
from policies.base import Action

# (prompt tokens incl. audio and images, new tokens, of which audio, of which image) -> USD
PriceFn = Callable[[int, int, int, int], float]

# Priors until this process has measured its own paths (deliberately pessimistic).
PRIOR_S_PER_TOKEN = {"local": 1 / 8, "cloud": 1 / 10}
# Reading the prompt, per token of the byte bound (about 4 bytes a real token).
PREFILL_S_PER_TOKEN = {"local": 1 / 1000, "cloud": 1 / 4000}
OVERHEAD_S = {"local": 1.0, "cloud": 2.0}
# Perception: a fixed start plus a part that grows with the attachment (decoding and OCR of
# megapixels; transcribing or uploading seconds of audio).
PERCEPTION_BASE_S = {"image": 3.0, "audio": 2.0}
PERCEPTION_S_PER_MEGAPIXEL = 0.5
PERCEPTION_S_PER_AUDIO_S = 0.25
PROMPT_STANDIN_TOKENS = 16  # "Describe what is attached." when a turn has no text
FLOOR_TOKENS = 16  # the shortest answer worth starting: its worst case must fit outright
TURNS_ENV = "LCIO_GUARD_TURNS"
DEFAULT_TURNS = 10  # turns a dialogue is expected to have, for the pacing reserve (a prior)
MIN_LOGGED_SESSIONS = 20  # logged sessions before their lengths replace DEFAULT_TURNS


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


def local_power_w(settings: Settings) -> float:
    """Most watts a local answer's energy can be charged at: the configured CPU power per
    core for every core this process may run on (the meter counts process CPU seconds),
    plus the GPU's power when the local model may use one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    gpu = settings.gpu_power_w if settings.local_device != "cpu" and _has_cuda() else 0.0
    return settings.cpu_power_w * cores + gpu


def seconds_left(left: Cost, location: str | None, settings: Settings) -> float:
    """How long a turn may run on what is `left`: the waiting time, and for a local answer the
    energy left at the most power it can be charged (`local_power_w`)."""
    seconds = left.latency_s
    watts = local_power_w(settings)
    if location == "local" and watts > 0:
        seconds = min(seconds, left.energy_j / watts)
    return max(0.0, seconds)


@lru_cache(maxsize=1)
def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@lru_cache(maxsize=8)
def largest_image_tokens(max_side: int) -> int:
    """The most tokens any image can cost once its long side is at most `max_side`."""
    return max(units.image_tokens(max_side, short) for short in range(1, max_side + 1))


def image_tokens(attachment: Attachment, settings: Settings) -> int:
    """Tokens of an image as the cloud receives it (downscaled to `max_image_side`)."""
    if attachment.width <= 0 or attachment.height <= 0:  # not measured: assume the largest
        return largest_image_tokens(settings.max_image_side)
    return units.image_tokens(*units.scaled_size(attachment.width, attachment.height,
                                                 settings.max_image_side))


def audio_seconds(attachment: Attachment, settings: Settings) -> float:
    """Real duration, or the longest allowed when it was not measured."""
    return attachment.duration_s if attachment.duration_s > 0 else settings.max_audio_s


def megapixels(attachment: Attachment, settings: Settings) -> float:
    if attachment.width <= 0 or attachment.height <= 0:
        return settings.max_image_pixels / 1e6
    return attachment.width * attachment.height / 1e6


def perception_s(attachment: Attachment, settings: Settings) -> float:
    """Worst-case seconds to read one attachment (it grows with its size)."""
    if attachment.kind == "image":
        return PERCEPTION_BASE_S["image"] + PERCEPTION_S_PER_MEGAPIXEL * megapixels(attachment, settings)
    return PERCEPTION_BASE_S["audio"] + PERCEPTION_S_PER_AUDIO_S * audio_seconds(attachment, settings)


def text_tokens(text: str, history: Sequence[Message], n_attachments: int) -> int:
    """Upper bound of the text tokens of one request: prompt, history, format, perception."""
    return _dialogue_tokens(text, history) + units.PERCEPTION_TEXT_TOKENS * n_attachments


def _dialogue_tokens(text: str, history: Sequence[Message]) -> int:
    return (units.text_tokens_bound(text) + PROMPT_STANDIN_TOKENS
            + sum(units.text_tokens_bound(m.text) for m in history)
            + units.MESSAGE_OVERHEAD_TOKENS * (len(history) + 1)
            + units.REQUEST_OVERHEAD_TOKENS)


def worst_case(action: Action, slots: list[Attachment], always: list[Attachment],
               text: str, history: Sequence[Message], settings: Settings, speed: SpeedModel,
               price_usd: PriceFn | None = None, max_new_tokens: int | None = None) -> Cost:
    """Upper bound of what taking `action` can cost this turn."""
    return worst_cases([action], slots, always, text, history, settings, speed, price_usd,
                       max_new_tokens)[0]


def worst_cases(actions: Sequence[Action], slots: list[Attachment], always: list[Attachment],
                text: str, history: Sequence[Message], settings: Settings, speed: SpeedModel,
                price_usd: PriceFn | None = None, max_new_tokens: int | None = None) -> list[Cost]:
    """`worst_case` of each action, reading the dialogue and the attachments once."""
    n_new = max_new_tokens or settings.max_new_tokens
    dialogue = _dialogue_tokens(text, history)
    files = slots + list(always)
    seconds = [perception_s(a, settings) for a in files]
    tokens = [(image_tokens(a, settings), 0) if a.kind == "image"
              else (0, units.audio_tokens_bound(audio_seconds(a, settings))) for a in files]
    per_token = {where: speed.s_per_token(where) for where in OVERHEAD_S}
    watts = local_power_w(settings)
    out = []
    for action in actions:
        used = [i for i in action.attachments if i < len(slots)] + list(range(len(slots), len(files)))
        where = action.location
        prompt_text = dialogue + units.PERCEPTION_TEXT_TOKENS * len(used)
        latency = (OVERHEAD_S[where] + sum(seconds[i] for i in used)
                   + prompt_text * PREFILL_S_PER_TOKEN[where] + n_new * per_token[where])
        if where == "local":
            out.append(Cost(usd=0.0, latency_s=latency, energy_j=latency * watts))
            continue
        image = sum(tokens[i][0] for i in used)
        audio = sum(tokens[i][1] for i in used)
        usd = price_usd(prompt_text + image + audio, n_new, audio, image) if price_usd else 0.0
        out.append(Cost(usd=usd, latency_s=latency, energy_j=0.0))
    return out


def budget_mask(actions: list[Action], costs: list[Cost], ledger: BudgetLedger
                ) -> tuple[np.ndarray, dict[int, str]]:
    """Which actions the ledger can still pay `costs` for outright, and why each other one cannot."""
    ok = rule.fits(_array([ledger.remaining])[0], _array(costs))
    return ok, {i: ledger.can_afford(c)[1] for i, c in enumerate(costs) if not ok[i]}


def expected_turns() -> float:
    """`LCIO_GUARD_TURNS` (a positive number), else `DEFAULT_TURNS`: the dialogue length the
    pacing assumes until the log has `MIN_LOGGED_SESSIONS` sessions (`pacing_lengths`)."""
    raw = os.environ.get(TURNS_ENV, "") or DEFAULT_TURNS
    turns = float(raw)
    if not turns > 0:
        raise ValueError(f"{TURNS_ENV} must be a positive number, got {raw!r}")
    return turns


def pacing_lengths(logged: dict[int, int]) -> dict[int, int] | None:
    """The dialogue lengths pacing reads: those of the sessions in the app's log once it holds
    `MIN_LOGGED_SESSIONS` (how long people here really talk), else None (`expected_turns`).
    An operator's `LCIO_GUARD_TURNS` always wins."""
    if os.environ.get(TURNS_ENV) or sum(logged.values()) < MIN_LOGGED_SESSIONS:
        return None
    return dict(logged)


def _array(costs: Sequence[Cost]) -> np.ndarray:
    return np.array([c.as_array() for c in costs], dtype=np.float64).reshape(-1, len(RESOURCES))


@dataclass(frozen=True)
class Admission:
    """What the guard let start, and why each other action may not."""

    mask: np.ndarray
    why: dict[int, str]
    bound: list[Cost]  # each action's admission cost: the quantile, at most the worst case
    reserve: Cost  # kept for the dialogue's later turns (zero where pacing gave way)


def admission(worst: Sequence[Cost], floors: Sequence[Cost], upper: Sequence[Cost],
              expected: Sequence[Cost], ledger: BudgetLedger, turn: int,
              allowed: np.ndarray | None = None, turns: float | None = None,
              lengths: dict[int, int] | None = None) -> Admission:
    """The actions allowed to start (`policies.guard.admit`): `upper` (the predicted quantile,
    capped at `worst`) plus the pacing reserve fits what is left and `floors` fit outright;
    `expected` (the predicted costs) picks the cheapest action the reserve is made of; the
    reserve covers the turns left by `lengths` (logged dialogue lengths), else by `turns`."""
    left = _array([ledger.remaining])[0]
    bound = np.minimum(_array(upper), _array(worst))
    allowed = np.ones(len(bound), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    rest = rule.turns_left(turn, lengths, expected_turns() if turns is None else turns)
    cheap = rule.cheapest(_array(expected), left, allowed)
    reserve = rule.pacing_reserve(rest, _array(expected)[cheap], bound[cheap]) if cheap >= 0 else np.zeros(3)
    ok, paced = rule.admit(left, bound, _array(floors), reserve, allowed)
    why: dict[int, str] = {}
    for i in np.flatnonzero(~ok):
        fits_floor, reason = ledger.can_afford(floors[i])
        if not fits_floor:
            why[int(i)] = reason
        elif not (fits_bound := ledger.can_afford(Cost.from_array(bound[i])))[0]:
            why[int(i)] = fits_bound[1].replace("needs up to", "likely needs")
        elif allowed[i]:
            why[int(i)] = "kept for the dialogue's later turns (pacing)"
    held = Cost.from_array(reserve) if paced else Cost()
    return Admission(ok, why, [Cost.from_array(b) for b in bound], held)


def run_bound(worst_at: Callable[[int], Cost], n_new: int, left: Cost) -> tuple[Cost, int] | None:
    """(what a starting turn holds, the most tokens it may answer), or None when even a
    `FLOOR_TOKENS` answer's worst case does not fit `left`. The cap is the longest answer whose
    worst-case dollars fit (the endpoint bills at most `max_tokens`); waiting time and energy
    are held up to what is left, where the deadline watchdog stops the answer."""
    def fits(cost: Cost, resources: Sequence[str] = RESOURCES) -> bool:
        return all(rule.within(getattr(cost, r), getattr(left, r)) for r in resources)

    lo = max(1, min(FLOOR_TOKENS, n_new))
    if not fits(worst_at(lo)):
        return None
    cap, hi = lo, n_new
    while cap < hi:  # the largest n in [lo, n_new] whose worst-case dollars fit (monotone in n)
        mid = (cap + hi + 1) // 2
        cap, hi = (mid, hi) if fits(worst_at(mid), ("usd",)) else (cap, mid - 1)
    worst = worst_at(cap)
    return Cost(latency_s=min(worst.latency_s, left.latency_s), usd=worst.usd,
                energy_j=min(worst.energy_j, left.energy_j)), cap
