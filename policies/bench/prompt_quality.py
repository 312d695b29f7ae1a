"""Prompt-aware quality: each action's expected score predicted from the turn itself.

The outcome table (`policies.bench.outcome.OutcomeModel`) knows only the predicted task and
what an action sends, so every "what is the total on this receipt?" looks alike. This model
reads the prompt (TF-IDF over the observation's hashed word counts), the attachment kinds,
the turn index and whether earlier turns carried files, and predicts the measured score of
each action shape with ridge regression, one model per location, the prompt features crossed
with how many images/audio the action sends or leaves out. Like RouteLLM's routers it is a
learned predictor over prompt features; unlike a two-model router it scores all 16 actions.
Fitted on training dialogues only; a prediction is a few small matrix products (µs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from policies.base import ActionSpace
from policies.bench.baselines import ALL_KINDS
from policies.bench.observation import (
    BENCH_SPACE,
    HEARD,
    PROMPT,
    SEEN,
    TASK,
    TURN,
    bench_observation,
    kinds_from_obs,
)
from policies.bench.outcome import action_shape
from policies.bench.prompt_features import idf_weights, tfidf

LOCATIONS = ("local", "cloud")


def turn_observations(dialogues: list[list], classifier) -> tuple[np.ndarray, list]:
    """(observations, turns) for every turn of `dialogues`, as a policy sees them before
    deciding (task from `classifier`; budgets and the previous action do not enter the
    models fitted on them)."""
    obs, turns = [], []
    for d in dialogues:
        for i, t in enumerate(d):
            earlier = tuple(k for e in d[:i] for k in e.kinds)
            obs.append(bench_observation(classifier.predict(t.prompt, t.kinds), t.kinds, t.prompt,
                                         i, None, {}, {}, earlier))
            turns.append(t)
    return np.array(obs), turns


def ridge_path(feats: np.ndarray, y: np.ndarray, alphas: tuple[float, ...]) -> list[np.ndarray]:
    """Ridge weights for each penalty from one eigendecomposition: of the rows' Gram matrix
    when there are fewer rows than columns (the dual form), else of the columns' (the primal),
    so a benchmark ten times larger costs seconds, not a 10k × 10k solve per penalty."""
    if len(y) <= feats.shape[1]:
        vals, vecs = np.linalg.eigh(feats @ feats.T)
        proj = vecs.T @ y
        return [feats.T @ (vecs @ (proj / (np.maximum(vals, 0.0) + a))) for a in alphas]
    vals, vecs = np.linalg.eigh(feats.T @ feats)
    proj = vecs.T @ (feats.T @ y)
    return [vecs @ (proj / (np.maximum(vals, 0.0) + a)) for a in alphas]


def context_counts(observations: np.ndarray, task: bool = True) -> np.ndarray:
    """[m, D'] token counts per observation: the prompt's hashed words, then one token each
    for the turn's file kinds, earlier audio, earlier images, the turn index (0, 1, 2, 3+)
    and (with `task`) the predicted task — weighted and normalised together by `tfidf`."""
    obs = np.atleast_2d(np.asarray(observations, dtype=np.float64))
    kinds = np.zeros((len(obs), len(ALL_KINDS)))
    for i, o in enumerate(obs):
        kinds[i, ALL_KINDS.index(kinds_from_obs(o))] = 1.0
    turn = np.zeros((len(obs), 4))
    turn[np.arange(len(obs)), np.clip(obs[:, TURN], 0, 3).astype(int)] = 1.0
    parts = [obs[:, PROMPT], kinds, obs[:, [HEARD, SEEN]], turn] + ([obs[:, TASK]] if task else [])
    return np.hstack(parts)


def context_features(observations: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """TF-IDF of `context_counts` (unit length per row); `idf` from the training rows."""
    counts = context_counts(observations)
    return tfidf(counts, idf)


def sparse_context(observation: np.ndarray, idf: list[float]) -> list[tuple[int, float]]:
    """`context_features` of one observation as (index, value) pairs of its non-zero
    entries, in plain Python: the same numbers, without a numpy call that lets the GIL go."""
    obs = np.asarray(observation).ravel().tolist()  # floats, exact; no 500-element cast loop
    n_prompt, n_kinds = PROMPT.stop - PROMPT.start, len(ALL_KINDS)
    counts = [(i, c) for i, c in enumerate(obs[PROMPT]) if c != 0.0]
    base = n_prompt
    counts.append((base + ALL_KINDS.index(kinds_from_obs(obs)), 1.0))
    base += n_kinds
    counts += [(base + k, obs[i]) for k, i in enumerate((HEARD, SEEN)) if obs[i] != 0.0]
    base += 2
    counts.append((base + min(max(int(obs[TURN]), 0), 3), 1.0))
    base += 4
    counts += [(base + k, c) for k, c in enumerate(obs[TASK]) if c != 0.0]
    weighted = [(j, c * idf[j]) for j, c in counts]
    norm = math.sqrt(sum(v * v for _, v in weighted))
    return [(j, v / norm) for j, v in weighted if v != 0.0] if norm > 0 else []


def shape_features(shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(crossed with the context: [1, images sent, audio sent, images left out, audio left
    out]; alone: whether each of those is non-zero)."""
    _, ui, ua, li, la = shape
    return (np.array([1.0, ui, ua, li, la]),
            np.array([ui > 0, ua > 0, li > 0, la > 0], dtype=np.float64))


@dataclass
class PromptQualityModel:
    """Ridge regression of measured quality on (context ⊗ action shape), per location."""

    idf: list[float]
    crossed: dict[str, list[list[float]]]  # location -> [5, D'] weights on the context
    alone: dict[str, list[float]]  # location -> [4] weights on the shape flags
    mean: dict[str, float]  # location -> mean training quality (the ridge fits the rest)
    alpha: float = 3.0

    def __post_init__(self) -> None:
        self._idf = np.asarray(self.idf, dtype=np.float64)
        self._crossed = np.stack([np.asarray(self.crossed[loc], dtype=np.float64) for loc in LOCATIONS])
        self._alone = np.stack([np.asarray(self.alone[loc], dtype=np.float64) for loc in LOCATIONS])
        self._mean = np.array([self.mean[loc] for loc in LOCATIONS])
        self._idf_list = [float(v) for v in self.idf]
        self._crossed_by_feature = np.ascontiguousarray(np.moveaxis(self._crossed, 2, 0))  # [D', 2, 5]
        self._actions: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @staticmethod
    def design(ctx: np.ndarray, turns: list, space: ActionSpace = BENCH_SPACE
               ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per location: (rows [m, 5·D' + 4], measured quality [m], turn index of each row);
        every valid action of every turn is one row of its location's regression."""
        rows: dict[str, list[tuple[np.ndarray, float, int]]] = {loc: [] for loc in LOCATIONS}
        for i, (x, t) in enumerate(zip(ctx, turns, strict=True)):
            for a in np.flatnonzero(t.valid & space.mask_for(list(t.present))):
                act = space.actions[a]
                cross, flags = shape_features(action_shape(act, t.kinds))
                row = np.concatenate([np.kron(cross, x), flags])
                rows[act.location].append((row, float(t.quality[a]), i))
        width = 5 * ctx.shape[1] + 4
        return {loc: (np.array([r[0] for r in data]).reshape(-1, width), np.array([r[1] for r in data]),
                      np.array([r[2] for r in data], dtype=int)) for loc, data in rows.items()}

    @classmethod
    def fit(cls, observations: np.ndarray, turns: list, space: ActionSpace = BENCH_SPACE,
            alpha: float = 3.0) -> PromptQualityModel:
        """`observations[i]` is what the policy saw at `turns[i]` (a `BenchTurn`)."""
        obs = np.asarray(observations, dtype=np.float64)
        idf = idf_weights(context_counts(obs))
        ctx = context_features(obs, idf)
        crossed, alone, mean = {}, {}, {}
        for loc, (feats, y, _) in cls.design(ctx, turns, space).items():
            mean[loc] = float(y.mean()) if len(y) else 0.0
            w = ridge_path(feats, y - mean[loc], (alpha,))[0] if len(y) else np.zeros(feats.shape[1])
            crossed[loc] = w[:-4].reshape(5, ctx.shape[1]).tolist()
            alone[loc] = w[-4:].tolist()
        return cls(idf.tolist(), crossed, alone, mean, alpha)

    @classmethod
    def fit_cv(cls, observations: np.ndarray, turns: list, groups: list, alphas: tuple[float, ...],
               folds: int = 4, space: ActionSpace = BENCH_SPACE) -> PromptQualityModel:
        """`fit` with the ridge penalty that predicts held-out folds of whole dialogues
        (`groups[i]`: turn i's dialogue) best in squared error — chosen on the data it is
        given, so a training split picks its own. One eigendecomposition per fold and
        location serves every penalty (the IDF weights, label-free, come from all rows)."""
        obs = np.asarray(observations, dtype=np.float64)
        ctx = context_features(obs, idf_weights(context_counts(obs)))
        fold_of = {g: i % folds for i, g in enumerate(sorted(set(groups)))}
        fold = np.array([fold_of[g] for g in groups])
        sq = np.zeros(len(alphas))
        for feats, y, turn in cls.design(ctx, turns, space).values():
            for f in range(folds):
                held, kept = fold[turn] == f, fold[turn] != f
                if not held.any() or not kept.any():
                    continue
                mu = y[kept].mean()
                for k, w in enumerate(ridge_path(feats[kept], y[kept] - mu, alphas)):
                    sq[k] += float(((np.clip(mu + feats[held] @ w, 0.0, 1.0) - y[held]) ** 2).sum())
        return cls.fit(obs, turns, space, alphas[int(np.argmin(sq))])

    @staticmethod
    def _shape_table(kinds: tuple[str, ...], space: ActionSpace) -> tuple[np.ndarray, ...]:
        """(location index [n], crossed shape features [n, 5], shape flags [n, 4])."""
        feats = [shape_features(action_shape(a, kinds)) for a in space.actions]
        return (np.array([LOCATIONS.index(a.location) for a in space.actions]),
                np.array([f[0] for f in feats]), np.array([f[1] for f in feats]))

    def predict(self, observation: np.ndarray, space: ActionSpace = BENCH_SPACE) -> np.ndarray:
        """[n] predicted quality of every action for this observation, clipped to [0, 1].

        The context is a handful of non-zero features out of several hundred, so it is read
        sparsely in plain Python (`sparse_context`). Why not `self._crossed @ x`: BLAS and
        numpy loops over 500+ elements release the GIL, and in the app, where a local answer
        is generating on another thread, each release costs the decision up to a 5 ms
        switch interval to win the GIL back (docs/results.md, "The policy on LCIO-Bench v2").
        """
        per_loc = np.zeros((len(LOCATIONS), 5))
        for j, xj in sparse_context(observation, self._idf_list):
            per_loc += self._crossed_by_feature[j] * xj
        base, cross, located = self._action_table(kinds_from_obs(observation), space)
        return np.clip(base + ((cross @ per_loc.T) * located).sum(1), 0.0, 1.0)

    def _action_table(self, kinds: tuple[str, ...], space: ActionSpace) -> tuple[np.ndarray, ...]:
        """(the context-free part of each action's quality [n], its crossed shape features
        [n, 5], its location one-hot [n, locations]), cached per file kinds. The one-hot
        picks each action's location without fancy indexing, which also lets the GIL go."""
        if kinds not in self._actions:
            loc, cross, flags = self._shape_table(kinds, space)
            located = np.eye(len(LOCATIONS))[loc]
            self._actions[kinds] = (self._mean[loc] + (flags * self._alone[loc]).sum(1), cross, located)
        return self._actions[kinds]

    def to_dict(self) -> dict:
        return {"idf": self.idf, "crossed": self.crossed, "alone": self.alone, "mean": self.mean,
                "alpha": self.alpha}
