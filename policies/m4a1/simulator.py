"""Outcome model for unlogged (state, action) pairs: the paper's k-NN quality simulator.

Each logged turn is a point (paper state of 25 numbers, action as [cloud?, view0..2]) with
its judged quality. The quality of any (state, action) is the inverse-distance-weighted
mean of the 5 nearest logged points (weights 1/(d + 1e-6)), as in the paper. With
`ties=True` (LCIO's planner) the points at the 5th distance share the last slots instead of
the storage order picking among them (`tie_shares`). The model is fitted on training
dialogues only; the held-out dialogues are scored by the same model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import ActionSpace
from policies.m4a1.data import Dialogue
from policies.m4a1.features import step_state

K_NEIGHBOURS = 5
EPS = 1e-6
TIE_TOL = 1e-9  # squared distances this close count as equal (the features are small integers)


def tie_shares(d2: np.ndarray, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Per row, each point's share of the k neighbour slots, whatever the tie order.

    The points strictly closer than the k-th smallest distance take one slot each; the points
    at exactly that distance share the slots left equally. That is the mean of k-NN over every
    order of equidistant points: on M4A1's integer features most queries have such ties, and
    which of them a k-NN keeps is otherwise an accident of the order the points are stored in.
    """
    kth = np.partition(d2, k - 1, axis=1)[:, k - 1: k]
    tol = TIE_TOL * (1.0 + kth)
    closer = d2 < kth - tol
    tied = np.abs(d2 - kth) <= tol
    left = k - closer.sum(1, keepdims=True)
    return closer + tied * (left / np.maximum(tied.sum(1, keepdims=True), 1))


def tie_mean(d2: np.ndarray, quality: np.ndarray, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Inverse-distance mean of `quality` over the k nearest, ties shared (`tie_shares`).

    Only the entries within each row's k-th distance are touched (a few per row), which keeps
    the planner's cold look-ahead fast; `tie_shares` is the dense definition."""
    m = len(d2)
    kth = np.partition(d2, k - 1, axis=1)[:, k - 1]
    tol = TIE_TOL * (1.0 + kth)
    rows, cols = np.nonzero(d2 <= (kth + tol)[:, None])
    d = d2[rows, cols]
    tied = d >= (kth - tol)[rows]
    n_tied = np.bincount(rows, weights=tied, minlength=m)
    n_closer = np.bincount(rows, minlength=m) - n_tied
    share = np.where(tied, ((k - n_closer) / np.maximum(n_tied, 1))[rows], 1.0)
    w = share / (np.sqrt(np.maximum(d, 0.0)) + EPS)
    return np.bincount(rows, w * quality[cols], m) / np.bincount(rows, w, m)


def action_code(space: ActionSpace) -> np.ndarray:
    """[cloud?, view0, view1, view2] per action (local is all zeros), the paper's encoding."""
    rows = []
    for a in space.actions:
        cloud = 0.0 if a.location == "local" else 1.0
        rows.append([cloud] + [cloud * (i in a.attachments) for i in range(space.slots)])
    return np.asarray(rows, dtype=np.float64)


def logged_states(dialogue: Dialogue, space: ActionSpace) -> list[list[float]]:
    """Per-turn paper states along the logged actions of a dialogue."""
    states, prev = [], None
    for t in dialogue.turns:
        states.append(step_state(prev, t.task))
        prev = space.actions[t.logged_action]
    return states


@dataclass
class QualityModel:
    """k-NN regressor over logged (state, action) points; vectorised for batches."""

    points: np.ndarray  # (N, 29)
    quality: np.ndarray  # (N,)
    space: ActionSpace
    ties: bool = False  # True: equidistant neighbours share the last slots (`tie_shares`)

    @classmethod
    def fit(cls, dialogues: list[Dialogue], space: ActionSpace | None = None,
            ties: bool = False) -> QualityModel:
        from policies.m4a1.features import history_window
        space = space or ActionSpace()
        codes = action_code(space)
        pts, q = [], []
        for d in dialogues:
            states = logged_states(d, space)
            for i, t in enumerate(d.turns):
                pts.append(np.concatenate([history_window(states[: i + 1]), codes[t.logged_action]]))
                q.append(t.quality)
        return cls(np.asarray(pts, dtype=np.float64), np.asarray(q, dtype=np.float64), space, ties)

    def __post_init__(self) -> None:
        self._sq = (self.points ** 2).sum(1)
        self._codes = action_code(self.space)

    def predict(self, queries: np.ndarray) -> np.ndarray:
        """Quality for each row of `queries` (M, 29)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float64))
        out = np.empty(len(queries))
        for s in range(0, len(queries), 4096):  # chunks keep the distance matrix small
            x = queries[s: s + 4096]
            d2 = (x ** 2).sum(1)[:, None] + self._sq[None, :] - 2 * x @ self.points.T
            if self.ties:
                out[s: s + 4096] = tie_mean(d2, self.quality)
                continue
            idx = np.argpartition(d2, K_NEIGHBOURS - 1, axis=1)[:, :K_NEIGHBOURS]
            dist = np.sqrt(np.maximum(np.take_along_axis(d2, idx, 1), 0.0))
            w = 1.0 / (dist + EPS)
            out[s: s + 4096] = (w * self.quality[idx]).sum(1) / w.sum(1)
        return out

    def predict_actions(self, history: np.ndarray) -> np.ndarray:
        """Quality of every action from one 25-number paper state."""
        h = np.broadcast_to(np.asarray(history, dtype=np.float64), (len(self._codes), len(history)))
        return self.predict(np.hstack([h, self._codes]))

    def to_dict(self) -> dict:
        return {"points": self.points.tolist(), "quality": self.quality.tolist(),
                "slots": self.space.slots, "ties": self.ties}

    @classmethod
    def from_dict(cls, d: dict) -> QualityModel:
        return cls(np.asarray(d["points"]), np.asarray(d["quality"]), ActionSpace(d["slots"]),
                   bool(d.get("ties", False)))


@dataclass(frozen=True)
class RewardWeights:
    """Paper: 1·quality + 1/3·association − 1/3·norm. latency − 1/3·norm. usage.
    Plain: quality − latency_per_s·seconds − per_usd·dollars (no normalisation, no tricks)."""

    quality: float = 1.0
    association: float = 1 / 3
    latency: float = 1 / 3
    usage: float = 1 / 3
    plain_per_s: float = 0.02  # one quality point per 50 s
    plain_per_usd: float = 20.0  # one quality point per 5 cents


def normalised_association(association: np.ndarray, space: ActionSpace) -> np.ndarray:
    """Per action, the summed association of the slots it sends, min-max normalised over the
    actions (local and cloud-without-views score 0), as in the paper."""
    raw = np.array([0.0 if a.location == "local" else sum(association[i] for i in a.attachments)
                    for a in space.actions])
    lo, hi = raw.min(), raw.max()
    return (raw - lo) / (hi - lo) if hi > lo else np.zeros_like(raw)


def paper_reward(quality: np.ndarray, norm_assoc: np.ndarray, norm_costs: dict[str, np.ndarray],
                 w: RewardWeights) -> np.ndarray:
    return (w.quality * quality + w.association * norm_assoc
            - w.latency * norm_costs["latency_s"] - w.usage * norm_costs["usd"])


def plain_reward(quality: float, latency_s: float, usd: float, w: RewardWeights) -> float:
    return quality - w.plain_per_s * latency_s - w.plain_per_usd * usd
