"""Two baselines from the routing literature, fitted on training dialogues only.

- `BenchRouter` (RouteLLM-style): a learned win-rate predictor P(cloud better than local |
  prompt features) — L2-regularised logistic regression over the same prompt features as
  LCIO's quality model — sends the turn to the cloud (every file) when P reaches a threshold,
  else answers locally (every file). The threshold is calibrated on the training split to a
  target cloud share (RouteLLM's calibration); sweeping the share gives its quality-vs-cost curve.
- `BenchCascade`: answer locally (every file); when the answer looks weak, ask the cloud too
  (every file) and pay for both. "Weak" is a learned score on the local answer's text
  (`WeaknessModel`: hashed words, length, loops, refusal) above a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Action, ActionSpace, Decision, Policy
from policies.bench.baselines import _decision
from policies.bench.dataset import BenchTurn
from policies.bench.observation import BENCH_SPACE, BenchWeights, kinds_from_obs
from policies.bench.prompt_features import idf_weights, prompt_counts
from policies.bench.prompt_quality import context_counts, context_features


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """Weights (last = bias) of L2-regularised logistic regression by Newton steps."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 1e-6
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def sigmoid_score(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.atleast_2d(x) @ w[:-1] + w[-1])))


def fullest(space: ActionSpace, kinds: tuple[str, ...], location: str) -> int:
    """The action at `location` that sends every file of the turn."""
    return space.actions.index(Action(location, tuple(range(len(kinds)))))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ router
@dataclass
class WinRateModel:
    """P(cloud with every file scores higher than local with every file | prompt features)."""

    idf: list[float]
    weights: list[float]
    train_scores: list[float]  # on the training turns, for threshold calibration
    train_wins: float  # share of training turns where the cloud scored higher

    @classmethod
    def fit(cls, observations: np.ndarray, turns: list[BenchTurn], space: ActionSpace = BENCH_SPACE,
            l2: float = 1.0) -> WinRateModel:
        obs = np.asarray(observations, dtype=np.float64)
        idf = idf_weights(context_counts(obs))
        x = context_features(obs, idf)
        y = np.array([float(t.quality[fullest(space, t.kinds, "cloud")]
                            > t.quality[fullest(space, t.kinds, "local")]) for t in turns])
        w = fit_logistic(x, y, l2)
        return cls(idf.tolist(), w.tolist(), sigmoid_score(x, w).tolist(), float(y.mean()))

    def __post_init__(self) -> None:
        self._idf, self._w = np.asarray(self.idf), np.asarray(self.weights)

    def score(self, observation: np.ndarray) -> float:
        return float(sigmoid_score(context_features(observation, self._idf), self._w)[0])

    def threshold_for(self, cloud_share: float) -> float:
        """The threshold that sends `cloud_share` of the training turns to the cloud."""
        if cloud_share <= 0:
            return np.inf
        return float(np.quantile(self.train_scores, 1.0 - min(cloud_share, 1.0)))


class BenchRouter(Policy):
    """RouteLLM-style router: cloud (every file) when P(cloud wins) ≥ threshold, else local."""

    name = "router (RouteLLM-style)"
    uses_guard = False  # a router knows no budgets

    def __init__(self, model: WinRateModel, cloud_share: float | None = None,
                 space: ActionSpace = BENCH_SPACE):
        self.model, self.space = model, space
        self.cloud_share = model.train_wins if cloud_share is None else cloud_share
        self.threshold = model.threshold_for(self.cloud_share)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        p = self.model.score(observation)
        where = "cloud" if p >= self.threshold else "local"
        a = fullest(self.space, kinds_from_obs(observation), where)
        return _decision(self.space, a, p if where == "cloud" else 1 - p,
                         f"P(cloud better) {p:.2f} vs threshold {self.threshold:.2f}")


# ------------------------------------------------------------------------------ cascade
def answer_features(text: str) -> np.ndarray:
    """What a local answer looks like: hashed words, and the weak signals the app can see
    (empty or short, stuck repeating itself, a refusal)."""
    from backends.decoding import loops
    from policies.answer_text import is_refusal

    words = len(text.split())
    flags = np.array([words == 0, words < 4, min(words, 80) / 80.0, loops(text), is_refusal(text)],
                     dtype=np.float64)
    counts = prompt_counts(text).astype(np.float64)
    norm = np.linalg.norm(counts)
    return np.concatenate([counts / norm if norm else counts, flags])


def weak_answer(text: str) -> bool:
    """The rule a cascade escalates on without a learned score: an empty or very short
    answer, one stuck repeating itself, or a refusal."""
    flags = answer_features(text)[-5:]
    return bool(flags[1] or flags[3] or flags[4])


@dataclass
class WeaknessModel:
    """P(the local answer scores below `bar`) from its text, by logistic regression."""

    weights: list[float]
    bar: float = 0.5
    threshold: float = 0.5  # escalate at or above; calibrated on the training turns by `fit`

    @classmethod
    def fit(cls, turns: list[BenchTurn], space: ActionSpace = BENCH_SPACE, bar: float = 0.5,
            l2: float = 1.0, weights: BenchWeights | None = None) -> WeaknessModel:
        """Fit the score, then pick the threshold with the best mean plain reward of the
        cascade on the same training turns (an escalation pays for both calls)."""
        weights = weights or BenchWeights()
        x, y, keep, esc = [], [], [], []
        for t in turns:
            a, c = fullest(space, t.kinds, "local"), fullest(space, t.kinds, "cloud")
            if t.valid[a] and t.valid[c]:
                x.append(answer_features(t.answers.get(a, "")))
                y.append(float(t.quality[a] < bar))
                keep.append(weights.reward(t.quality[a], t.latency_s[a], t.usd[a], t.energy_j[a]))
                esc.append(weights.reward(t.quality[c], t.latency_s[a] + t.latency_s[c],
                                          t.usd[a] + t.usd[c], t.energy_j[a] + t.energy_j[c]))
        w = fit_logistic(np.array(x), np.array(y), l2)
        scores = sigmoid_score(np.array(x), w)
        grid = np.linspace(0.05, 1.0, 20)
        gains = [np.mean(np.where(scores >= g, esc, keep)) for g in grid]
        return cls(w.tolist(), bar, float(grid[int(np.argmax(gains))]))

    def score(self, text: str) -> float:
        return float(sigmoid_score(answer_features(text), np.asarray(self.weights))[0])


class BenchCascade(Policy):
    """Local with every file first; the env asks `escalate(answer)` and, when it says yes,
    also runs the cloud with every file and counts both calls' seconds, dollars and joules."""

    name = "cascade (local, then cloud)"
    uses_guard = False

    def __init__(self, weakness: WeaknessModel, threshold: float | None = None,
                 space: ActionSpace = BENCH_SPACE):
        self.weakness, self.space = weakness, space
        self.threshold = weakness.threshold if threshold is None else threshold

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a = fullest(self.space, kinds_from_obs(observation), "local")
        act = self.space.actions[a]
        return Decision(cascade_action(self.space, a), act.location, act.attachments, 1.0,
                        reason="local first; cloud if the answer looks weak")

    def escalate(self, answer: str) -> bool:
        return self.weakness.score(answer) >= self.threshold


def cascade_action(space: ActionSpace, local: int) -> int:
    """The index that asks the env for a cascade starting with local action `local`
    (indices past the space: n + local; the escalation sends the same slots to the cloud)."""
    return space.n + local


def cascade_parts(space: ActionSpace, action: int) -> tuple[int, int] | None:
    """(local action, cloud action) of a cascade index; None for an ordinary action."""
    if action < space.n:
        return None
    local = space.actions[action - space.n]
    return action - space.n, space.actions.index(Action("cloud", local.attachments))
