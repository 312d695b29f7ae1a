"""What an answer costs in time and energy, fitted on answers sent one at a time the real way.

Batched answers (`lab.bench.batched`) say nothing about how long the app waits for one.
So a v2 build sends a sample of its requests through the real path, one at a time (the local
nf4 backend in-process; the stand-in over HTTP through the `openai` client, with its network
delay), and fits per side

    latency_s = a + b * prompt_tokens + c * completion_tokens
    ttft_s    = a' + b' * prompt_tokens
    energy_j  = e * latency_s            (local only; the provider's energy is not ours)

by least squares with non-negative coefficients. The fit, its sample size and its
leave-one-out median relative error are written into the bench file (a ``timing`` row), so
anyone can see how far a modelled latency may be from a measured one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Sample:
    """One answer measured the real way."""

    side: str  # "local" or "cloud"
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    latency_s: float
    energy_j: float


@dataclass(frozen=True)
class SideFit:
    latency: tuple[float, float, float]  # a, b (per prompt token), c (per answer token)
    ttft: tuple[float, float]
    joules_per_s: float
    n: int
    loo_median_rel_error: float  # leave-one-out, latency


def _nonneg_lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with coefficients >= 0 (drop a column that wants to go negative, refit)."""
    keep = list(range(x.shape[1]))
    while True:
        coef = np.zeros(x.shape[1])
        if keep:
            sol, *_ = np.linalg.lstsq(x[:, keep], y, rcond=None)
            coef[keep] = sol
        negative = [i for i in keep if coef[i] < 0]
        if not negative:
            return coef
        keep.remove(min(negative, key=lambda i: coef[i]))


def _design(samples: Sequence[Sample]) -> np.ndarray:
    return np.array([[1.0, s.prompt_tokens, s.completion_tokens] for s in samples])


def fit_side(samples: Sequence[Sample]) -> SideFit:
    if len(samples) < 3:
        raise ValueError("at least 3 measured answers are needed to fit a side's timing")
    x = _design(samples)
    lat = np.array([s.latency_s for s in samples])
    coef = _nonneg_lstsq(x, lat)
    ttft = _nonneg_lstsq(x[:, :2], np.array([s.ttft_s for s in samples]))
    joules = float(sum(s.energy_j for s in samples) / max(1e-9, lat.sum()))
    errors = []
    for i in range(len(samples)):
        rest = np.delete(np.arange(len(samples)), i)
        c = _nonneg_lstsq(x[rest], lat[rest])
        errors.append(abs(float(x[i] @ c) - lat[i]) / max(lat[i], 1e-9))
    return SideFit(tuple(map(float, coef)), tuple(map(float, ttft)), joules, len(samples),
                   float(np.median(errors)))


@dataclass(frozen=True)
class TimingModel:
    sides: Mapping[str, SideFit]

    @classmethod
    def fit(cls, samples: Sequence[Sample]) -> TimingModel:
        sides = sorted({s.side for s in samples})
        return cls({side: fit_side([s for s in samples if s.side == side]) for side in sides})

    def predict(self, side: str, prompt_tokens: int, completion_tokens: int) -> dict[str, float]:
        fit = self.sides[side]
        a, b, c = fit.latency
        latency = a + b * prompt_tokens + c * completion_tokens
        ttft = min(latency, fit.ttft[0] + fit.ttft[1] * prompt_tokens)
        return {"latency_s": latency, "ttft_s": ttft, "energy_j": fit.joules_per_s * latency}

    def to_json(self) -> dict[str, Any]:
        return {side: asdict(fit) for side, fit in self.sides.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TimingModel:
        return cls({side: SideFit(tuple(f["latency"]), tuple(f["ttft"]), float(f["joules_per_s"]),
                                  int(f["n"]), float(f["loo_median_rel_error"]))
                    for side, f in data.items()})
