"""What a turn will cost and how long it will take, per action, from what the turn really is.

The guard's worst case (`app.guard`) is a promise about the budget; this is what the person is
told. A turn is described by its `TurnShape` (text bytes of the prompt and the history sent,
images with their megapixels and tile tokens, audio with its seconds, the answer-length
setting) and each path (local, cloud) is a small model refitted from every turn it serves:

- answer length: the median of the answers served on that path to similar turns (most of the
  same words, or the same file), else to turns of the same kind (text, image, audio), at
  most `max_new_tokens` (answers often stop well before it);
- prompt tokens: a ridge fit (towards priors from `backends.units`) of the tokens the backend
  reported on the turn's text bytes, images and audio;
- time to the first token: a ridge fit on perception (images, megapixels, audio files and
  seconds) and prompt reading; then seconds per generated token, the median measured;
- dollars (cloud): the price table at the predicted tokens; local energy: the measured
  joules per second of waiting times the predicted waiting.

Before the first turn, `app.predict_seed` (run by the app's warm-up) seeds each path with
what it measured on this machine, `CostPredictor.seed`: the first-token intercept and
prompt-reading slope, one decoding speed, and a typical answer length from LCIO-Bench v2;
without it (tests, scripts) the hand-set priors below stand.

The interval (80 % by default) comes from the empirical quantiles of the log ratio
actual / predicted over the last turns of that path, each predicted before the turn counted
(out of sample); until a path has a few turns, a wide prior band. `upper` gives any one-sided
quantile the same way (the budget guard admits an action by its upper quantile, `app.guard`):
the k-th smallest of n past log ratios with k = ⌈q(n + 1)⌉, or, where q asks for more than n
turns can show, the prior band stretched to q as a log-normal (at least the largest miss seen);
q = 1 is unbounded (the guard then uses its worst case). One instance per process,
shared by all sessions and thread-safe, like `app.guard.SpeedModel`; nothing is persisted.
"""

from __future__ import annotations

import math
import re
import statistics
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from app.guard import PriceFn, image_tokens, local_power_w
from app.session import Cost
from backends import units
from backends.config import Settings
from backends.types import Attachment, Completion, Message
from policies.base import Action

LEVEL = 0.8  # the interval's coverage
WINDOW = 40  # turns per path the fits read
RESIDUALS = 20  # turns per path the interval reads
MIN_RESIDUALS = 5  # below this, the prior band
MIN_ANSWERS = 2  # answers of a kind (text, image, audio) before their own median is used
PRIOR_BAND = {"latency_s": (0.5, 2.0), "usd": (0.6, 1.7), "energy_j": (0.4, 2.5)}
PRIOR_WEIGHT = 2.0  # how many turns' worth the priors count for

# Features of the first-token time: [1, images, megapixels, audio files, audio seconds, prompt ktokens]
HEAD_PRIOR = {"local": (0.5, 2.0, 0.3, 1.5, 0.15, 0.5), "cloud": (0.6, 1.0, 0.3, 1.0, 0.1, 0.2)}
HEAD_SCALE = (1.0, 1.0, 1.0, 1.0, 30.0, 1.0)  # typical size of each feature (for the prior's pull)
# Features of the prompt tokens: [1, text kbytes, images, image ktokens, audio files, audio seconds]
TOKENS_PRIOR = {"local": (60.0, 280.0, 150.0, 0.0, 20.0, 3.0),
                "cloud": (60.0, 280.0, 100.0, 1000.0, 20.0, 3.0)}
TOKENS_SCALE = (1.0, 1.0, 1.0, 0.2, 1.0, 10.0)
S_PER_TOKEN_PRIOR = {"local": 1 / 10, "cloud": 1 / 25}
RATE_WINDOW = 10  # decoding speed follows the machine's recent load
SIMILAR = 0.5  # Jaccard similarity of two turns' words for one's answer length to predict the other's
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class TurnShape:
    """What a turn is, as far as its cost goes (measured before it runs)."""

    location: str
    text_bytes: int
    images: int = 0
    megapixels: float = 0.0
    image_tokens: int = 0  # OpenAI tile accounting after the cloud's downscaling
    audio: int = 0
    audio_s: float = 0.0
    max_new_tokens: int = 256
    words: frozenset[str] = frozenset()  # the prompt's words and the files' hashes (similar turns)

    def head_features(self, prompt_tokens: float) -> np.ndarray:
        return np.array([1.0, self.images, self.megapixels, self.audio, self.audio_s,
                         prompt_tokens / 1000], dtype=float)

    def token_features(self) -> np.ndarray:
        return np.array([1.0, self.text_bytes / 1000, self.images, self.image_tokens / 1000,
                         self.audio, self.audio_s], dtype=float)

    @property
    def kind(self) -> str:
        """What the answer is about (answers to a spoken question or a picture run longer)."""
        return "audio" if self.audio else "image" if self.images else "text"

    @property
    def billed_audio_tokens(self) -> int:
        return units.audio_tokens(self.audio_s) if self.location == "cloud" else 0


def turn_shape(action: Action, slots: Sequence[Attachment], always: Sequence[Attachment], text: str,
               history: Sequence[Message], settings: Settings, max_new_tokens: int) -> TurnShape:
    """The shape of taking `action` on this turn: the attachments it sends, measured at upload."""
    used = [slots[i] for i in action.attachments if i < len(slots)] + list(always)
    images = [a for a in used if a.kind == "image"]
    audio = [a for a in used if a.kind == "audio"]
    words = frozenset(_WORD.findall(text.lower())) | {f"file:{a.sha256}" for a in used}
    text_bytes = units.text_tokens_bound(text) + sum(units.text_tokens_bound(m.text) for m in history)
    return TurnShape(
        location=action.location, text_bytes=text_bytes, images=len(images),
        megapixels=sum(a.width * a.height for a in images) / 1e6,
        image_tokens=sum(image_tokens(a, settings) for a in images),
        audio=len(audio), audio_s=sum(a.duration_s for a in audio), max_new_tokens=max_new_tokens,
        words=words)


@dataclass(frozen=True)
class Prediction:
    """The point estimate and its interval (`low`, `high` at `level`), with the tokens assumed."""

    cost: Cost
    low: Cost
    high: Cost
    prompt_tokens: float
    completion_tokens: float
    level: float = LEVEL
    turns_seen: int = 0  # turns of this path the fit has read (0: priors only)

    def as_dict(self) -> dict[str, object]:
        return {"level": self.level, "turns_seen": self.turns_seen,
                "prompt_tokens": round(self.prompt_tokens),
                "completion_tokens": round(self.completion_tokens),
                "latency_s": [self.low.latency_s, self.high.latency_s],
                "cost_usd": [self.low.usd, self.high.usd],
                "energy_j": [self.low.energy_j, self.high.energy_j]}


class RidgeFit:
    """Linear least squares pulled towards prior coefficients, over the last `window` points;
    coefficients kept non-negative (every feature adds time or tokens)."""

    def __init__(self, prior: Sequence[float], scale: Sequence[float], window: int = WINDOW) -> None:
        self.prior = np.asarray(prior, dtype=float)
        self.penalty = PRIOR_WEIGHT * np.asarray(scale, dtype=float) ** 2
        self.points: deque[tuple[np.ndarray, float]] = deque(maxlen=window)
        self._coef: np.ndarray | None = self.prior

    def set_prior(self, prior: Sequence[float]) -> None:
        """New prior coefficients (measured at start-up, `app.predict_seed`); points kept."""
        self.prior = np.asarray(prior, dtype=float)
        self._coef = None if self.points else self.prior

    def add(self, x: np.ndarray, y: float) -> None:
        self.points.append((x, y))
        self._coef = None

    @property
    def coef(self) -> np.ndarray:
        if self._coef is None:
            x = np.array([p[0] for p in self.points])
            y = np.array([p[1] for p in self.points])
            a = x.T @ x + np.diag(self.penalty)
            b = x.T @ y + self.penalty * self.prior
            self._coef = np.clip(np.linalg.solve(a, b), 0.0, None)
        return self._coef

    def __call__(self, x: np.ndarray) -> float:
        return float(max(0.0, x @ self.coef))


@dataclass
class PathModel:
    """One path's fits and its recent out-of-sample residuals (log actual / predicted)."""

    location: str
    head: RidgeFit
    tokens: RidgeFit
    answers: dict[str, deque[int]] = field(default_factory=dict)  # by `TurnShape.kind`, and "all"
    seen_words: deque[tuple[frozenset[str], int]] = field(default_factory=lambda: deque(maxlen=WINDOW))
    s_per_token: deque[float] = field(default_factory=lambda: deque(maxlen=RATE_WINDOW))
    joules_per_s: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    residuals: dict[str, deque[float]] = field(default_factory=dict)
    turns: int = 0
    # Measured before the first turn (`CostPredictor.seed`): None until then.
    answer_prior: float | None = None  # typical answer length of this path's model
    measured_rate: float | None = None  # seconds per generated token, timed at start-up

    @classmethod
    def new(cls, location: str) -> PathModel:
        return cls(location, RidgeFit(HEAD_PRIOR[location], HEAD_SCALE),
                   RidgeFit(TOKENS_PRIOR[location], TOKENS_SCALE))

    def residual(self, name: str, actual: float, predicted: float) -> None:
        if actual > 0 and predicted > 0:
            self.residuals.setdefault(name, deque(maxlen=RESIDUALS)).append(math.log(actual / predicted))

    def band(self, name: str, level: float) -> tuple[float, float]:
        """Factors around the point that held `level` of the recent turns, else the prior band."""
        seen = self.residuals.get(name)
        if not seen or len(seen) < MIN_RESIDUALS:
            return PRIOR_BAND[name]
        n, tail = len(seen), (1 - level) / 2
        # Split-conformal order statistics: the k-th smallest of n past misses bounds the next
        # one with probability k / (n + 1).
        lo_k, hi_k = math.floor(tail * (n + 1)), math.ceil((1 - tail) * (n + 1))
        lo, hi = np.quantile(np.array(seen), [max(0.0, (lo_k - 1) / (n - 1)), min(1.0, (hi_k - 1) / (n - 1))])
        return math.exp(min(lo, 0.0)), math.exp(max(hi, 0.0))


    def upper(self, name: str, q: float) -> float:
        """Factor on the point that bounds the next turn's cost with probability `q` (inf at 1)."""
        if q >= 1.0:
            return math.inf
        seen = sorted(self.residuals.get(name, ()))
        k = math.ceil(q * (len(seen) + 1))
        if len(seen) >= MIN_RESIDUALS and k <= len(seen):
            return math.exp(max(seen[k - 1], 0.0))
        return max(_prior_upper(name, q), math.exp(max(seen[-1], 0.0)) if seen else 0.0)


def _prior_upper(name: str, q: float) -> float:
    """The prior band's high factor (its one-sided level (1 + LEVEL) / 2) stretched to `q` as a
    log-normal; never below 1."""
    z_band = NormalDist().inv_cdf((1 + LEVEL) / 2)
    sigma = math.log(PRIOR_BAND[name][1]) / z_band
    return math.exp(max(0.0, sigma * NormalDist().inv_cdf(q)))


class CostPredictor:
    """Per-action cost and latency predictions, refitted online from every turn served."""

    def __init__(self, settings: Settings, price_usd: PriceFn | None = None,
                 power_w: Callable[[], float] | None = None, level: float = LEVEL) -> None:
        self.settings = settings
        self.price_usd = price_usd
        self.level = level
        self._power_w = power_w or (lambda: local_power_w(settings))
        self._paths = {where: PathModel.new(where) for where in ("local", "cloud")}
        self._lock = threading.Lock()

    def seed(self, location: str, *, ttft_s: float | None = None, prompt_tokens: float = 0.0,
             s_per_prompt_token: float | None = None, s_per_token: float | None = None,
             answer_tokens: float | None = None) -> None:
        """Priors for `location` measured before its first turn (`app.predict_seed`): the time
        to the first token of a short text prompt of `prompt_tokens` and the prompt-reading
        slope set the first-token fit's intercept and prompt coefficient; the decoding speed
        counts as one more measured speed until `RATE_WINDOW` turns have been; a typical
        answer length counts as `PRIOR_WEIGHT` answers until the path has its own."""
        with self._lock:
            path = self._paths[location]
            prior = path.head.prior.copy()
            if s_per_prompt_token is not None:
                prior[5] = max(0.0, s_per_prompt_token) * 1000
            if ttft_s is not None:
                prior[0] = max(0.0, ttft_s - prior[5] * prompt_tokens / 1000)
            path.head.set_prior(prior)
            if s_per_token is not None and s_per_token > 0:
                path.measured_rate = s_per_token
            if answer_tokens is not None and answer_tokens > 0:
                path.answer_prior = answer_tokens

    def turns(self, location: str) -> int:
        """Turns `location` has served (and the fits have read)."""
        with self._lock:
            return self._paths[location].turns

    def predict(self, shape: TurnShape) -> Prediction:
        with self._lock:
            path = self._paths[shape.location]
            point, prompt, answer = self._point(path, shape)
            bands = {name: path.band(name, self.level) for name in PRIOR_BAND}
            turns = path.turns
        low = Cost(**{r: getattr(point, r) * bands[r][0] for r in PRIOR_BAND})
        high = Cost(**{r: getattr(point, r) * bands[r][1] for r in PRIOR_BAND})
        return Prediction(point, low, high, prompt, answer, self.level, turns)

    def upper(self, shape: TurnShape, q: float) -> Cost:
        """Each resource's cost at its `q` upper quantile for this turn (inf where q = 1)."""
        return self.bounds([shape], q)[0][1]

    def bounds(self, shapes: Sequence[TurnShape], q: float) -> list[tuple[Cost, Cost]]:
        """(point, `q` upper quantile) of each shape: the guard's admission reads every action
        of a turn at once, so each path's quantile factors are worked out once."""
        out = []
        with self._lock:
            factors = {where: {name: path.upper(name, q) for name in PRIOR_BAND}
                       for where, path in self._paths.items()}
            for shape in shapes:
                point, _, _ = self._point(self._paths[shape.location], shape)
                f = factors[shape.location]
                out.append((point, Cost(**{r: getattr(point, r) * f[r] if getattr(point, r) > 0 else 0.0
                                           for r in PRIOR_BAND})))
        return out

    def observe(self, shape: TurnShape, completion: Completion) -> None:
        """Refit `shape.location`'s path from a finished answer (cancelled ones are not typical)."""
        if completion.finish_reason == "cancelled" or completion.completion_tokens <= 0:
            return
        with self._lock:
            path = self._paths[shape.location]
            before, _, _ = self._point(path, shape)  # out of sample: predicted before this turn counts
            path.residual("latency_s", completion.latency_s, before.latency_s)
            if shape.location == "cloud":
                path.residual("usd", completion.cost_usd, before.usd)
            else:
                path.residual("energy_j", completion.energy_j, before.energy_j)
            if shape.words:
                path.seen_words.append((shape.words, completion.completion_tokens))
            for key in (shape.kind, "all"):
                path.answers.setdefault(key, deque(maxlen=WINDOW)).append(completion.completion_tokens)
            ttft = min(completion.ttft_s, completion.latency_s)
            if completion.completion_tokens > 1:
                path.s_per_token.append((completion.latency_s - ttft) / (completion.completion_tokens - 1))
            path.head.add(shape.head_features(completion.prompt_tokens), ttft)
            path.tokens.add(shape.token_features(), completion.prompt_tokens - shape.billed_audio_tokens)
            if shape.location == "local" and completion.latency_s > 0:
                path.joules_per_s.append(completion.energy_j / completion.latency_s)
            path.turns += 1

    def _point(self, path: PathModel, shape: TurnShape) -> tuple[Cost, float, float]:
        n_new = max(1, shape.max_new_tokens)
        answers: Sequence[int] = _similar(path.seen_words, shape.words)
        if not answers:  # no similar turn: this kind's, or every answer if too few of this kind yet
            answers = path.answers.get(shape.kind) or ()
            answers = answers if len(answers) >= MIN_ANSWERS else path.answers.get("all") or ()
            if path.answer_prior is not None:  # the measured typical length, as a few answers
                answers = [*answers, *[path.answer_prior] * round(PRIOR_WEIGHT)]
        answer = float(min(n_new, statistics.median(answers))) if answers else float(n_new)
        prompt = path.tokens(shape.token_features())
        rates = list(path.s_per_token)
        if path.measured_rate is not None and len(rates) < RATE_WINDOW:
            rates.append(path.measured_rate)
        rate = statistics.median(rates) if rates else S_PER_TOKEN_PRIOR[path.location]
        latency = path.head(shape.head_features(prompt)) + rate * max(0.0, answer - 1)
        if path.location == "cloud":
            audio = shape.billed_audio_tokens
            # Image tokens go in as plain input: the fit has learnt how many the endpoint bills.
            usd = self.price_usd(round(prompt) + audio, round(answer), audio, 0) if self.price_usd else 0.0
            return Cost(usd=usd, latency_s=latency), prompt, answer
        j_per_s = statistics.median(path.joules_per_s) if path.joules_per_s else self._power_w() / 2
        return Cost(latency_s=latency, energy_j=latency * j_per_s), prompt, answer


def _similar(seen: Sequence[tuple[frozenset[str], int]], words: frozenset[str]) -> list[int]:
    """Answer lengths of past turns that share most of `words` (none if `words` is empty)."""
    if not words:
        return []
    return [n for other, n in seen if len(words & other) >= SIMILAR * len(words | other)]
