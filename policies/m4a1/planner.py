"""LCIO's M4A1 policy: a budget-guarded look-ahead planner.

What it is, plainly (measured in the paper's protocol, `lab.m4a1.runner`):
- Reward model: a k-NN quality model fitted on the training dialogues' logged turns by our own
  code (its own object, never the evaluator's simulator; equidistant neighbours share
  the last slots, so no storage order decides a prediction), plus the paper's
  association and cost terms. Ratings from the app shift it per (task, action).
- Decision: argmax over the actions the mask and the budget guard allow of
  r̂(s, a) + P(next turn) · E_next task[best next r̂ over the next actions the budget left
  after a still allows + the same for the turn after], an expectimax over the unknown next
  tasks. It plans two turns ahead at turns 0 and 1, whose next two turns' k-NN rows the warm
  caches hold, and one turn ahead after that (`LookaheadConfig.two_turns_until`): chosen on
  the training split only (`lab.m4a1.crossval --planner`), where the second turn is worth
  +0.02 reward and planning it at later turns adds nothing (held out it is flat:
  `policies/README.md`). The look-ahead earns its place (+0.12 reward over the same model
  without it).
- Budgets are kept by the hard guard (`policies.guard`), not by the planner: it once also
  priced each resource with Lagrange multipliers learned by dual ascent (a constrained-MDP
  training), which were measured to change no decision on M4A1 (rewards identical to 4
  decimals at every budget scale from 0.25× to 3×) and were removed (`docs/results.md`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from policies.base import ActionSpace, Decision, Policy, RatingLearner, TurnContext
from policies.guard import TOL, fits
from policies.m4a1.data import TASKS, Dialogue
from policies.m4a1.features import ASSOC, HIST, REMAIN, TURN, context_observation
from policies.m4a1.lookahead import LookaheadKNN
from policies.m4a1.simulator import QualityModel, RewardWeights
from policies.profiles import PAPER_BUDGETS, RESOURCES, CostTable, cost_table

ARTIFACT_VERSION = 1
WARM_TURNS = 2  # caches are filled ahead for windows up to this turn (5,332 windows)
CACHE_SIZE = 50_000  # memoised k-NN rows per cache (a few KB each); cleared when full
SECOND_CACHE_SIZE = 1_000  # memoised second-turn rows (93 KB each): turns 0-1 have 148 heads


def memoised(cache: dict, key: object, make: Callable[[], np.ndarray], size: int = CACHE_SIZE) -> np.ndarray:
    """`cache[key]`, made by `make()` when absent; a full cache (`size` entries) is emptied
    first, which bounds memory on long runs (the warm windows are refilled as they recur)."""
    value = cache.get(key)
    if value is None:
        if len(cache) >= size:
            cache.clear()
        value = cache[key] = make()
    return value


@dataclass
class DialogueStats:
    """What the training dialogues say about the unknown future, for the look-ahead:
    P(another turn follows turn t), P(next task | task), mean normalised association per action."""

    cont_prob: list[float]
    task_trans: list[list[float]]
    future_assoc: list[float]

    @classmethod
    def fit(cls, dialogues: list[Dialogue], space: ActionSpace, max_turns: int = 5) -> DialogueStats:
        from policies.m4a1.simulator import normalised_association
        lengths = np.array([len(d.turns) for d in dialogues])
        cont = [float((lengths > t + 1).sum() / max((lengths > t).sum(), 1)) for t in range(max_turns)]
        trans = np.ones((len(TASKS), len(TASKS)))  # Laplace smoothing
        assoc = []
        for d in dialogues:
            for a, b in zip(d.turns[:-1], d.turns[1:], strict=False):
                trans[a.task, b.task] += 1
            assoc += [normalised_association(np.asarray(t.association), space) for t in d.turns]
        trans /= trans.sum(1, keepdims=True)
        return cls(cont, trans.tolist(), np.mean(assoc, 0).tolist())


@dataclass
class LookaheadConfig:
    seed: int = 0
    budgets: dict[str, float] = field(  # the paper's budgets that are finite (seconds, dollars)
        default_factory=lambda: {r: v for r, v in PAPER_BUDGETS.items() if v != float("inf")})
    device: str = "Jetson TX2"
    network: str = "Wired"
    temperature: float = 0.1  # only for the reported probability; decisions are argmax
    rating_lr: float = 0.2  # step of the online quality correction from user ratings
    lookahead: bool = True  # add the expected best next turn (unknown task) to each action
    two_turns_until: int = 1  # up to this turn, the look-ahead also plans the turn after next
    knn_ties: bool = True  # equidistant neighbours share the k-NN's last slots (simulator.tie_shares)


class LookaheadPlanner(Policy, RatingLearner):
    name = "lcio-lookahead"
    uses_guard = True

    def __init__(self, quality: QualityModel, costs: CostTable,
                 weights: RewardWeights | None = None, config: LookaheadConfig | None = None,
                 offsets: np.ndarray | None = None, stats: DialogueStats | None = None):
        self.quality, self.costs = quality, costs
        self.stats = stats
        self.weights, self.config = weights or RewardWeights(), config or LookaheadConfig()
        self.space: ActionSpace = costs.space
        self._actions = self.space.actions  # the property builds a new list on every call
        self.action_costs = costs.per_action()
        self._worst = np.stack([np.asarray(self.action_costs[r], dtype=np.float64) for r in RESOURCES], 1)
        norm = costs.normalised()
        self._cost_term = self.weights.latency * norm["latency_s"] + self.weights.usage * norm["usd"]
        # the budgeted resources' cost per action (n, R), in `observation[REMAIN]`'s order
        self._budgeted = [i for i, r in enumerate(RESOURCES) if r in self.config.budgets]
        self._raw_costs = np.stack([np.asarray(self.action_costs[RESOURCES[i]], dtype=np.float64)
                                    for i in self._budgeted], 1)
        self._attach = np.array([[float(a.location == "cloud" and i in a.attachments)
                                  for i in range(self.space.slots)] for a in self._actions])
        self.offsets = np.zeros((len(TASKS), self.space.n)) if offsets is None else np.asarray(offsets)
        self._q_cache: dict[bytes, np.ndarray] = {}
        self._look_cache: dict[bytes, np.ndarray] = {}
        self._state_of: dict[bytes, tuple[int, int]] = {}  # filled by `_prepare_lookahead`
        self._second: dict[bytes, np.ndarray] = {}  # head -> its 36 next heads' look-ahead rows
        self._second_free: dict[tuple[bytes, int], np.ndarray] = {}  # budget-free second turn
        from policies.m4a1.features import STEP_DIM, step_state
        self._step_dim = STEP_DIM
        # next per-turn state for (action, next task): [cloud?, views sent, task]
        self._next_state = np.array([[step_state(a, k) for k in range(len(TASKS))]
                                     for a in self.space.actions])  # (n, tasks, 5)
        if stats is not None:
            self._cont = np.asarray(stats.cont_prob)
            self._trans = np.asarray(stats.task_trans)
            self._future_reward_base = (self.weights.association * np.asarray(stats.future_assoc)
                                        - self._cost_term)
            self._prepare_lookahead()
            self.warm_caches()

    def warm_caches(self, max_turn: int = WARM_TURNS) -> None:
        """Fill the exact k-NN caches for every window reachable at turns 0..`max_turn`
        (4·36^t windows at turn t), so that those decisions never pay for a k-NN query."""
        from policies.m4a1.features import SPAN, STEP_DIM, step_state
        pad = [-1.0] * STEP_DIM
        steps = self._next_state.reshape(-1, STEP_DIM)  # every (action, task) step state
        layer = [[step_state(None, k)] for k in range(len(TASKS))]
        windows: list[np.ndarray] = []
        turns: list[int] = []
        for t in range(max_turn + 1):
            windows += [np.asarray([pad] * (SPAN - len(w)) + w, dtype=np.float32).reshape(-1) for w in layer]
            turns += [t] * len(layer)
            if t < max_turn:
                layer = [w + [list(st)] for w in layer for st in steps]
        rows = np.repeat(np.stack(windows).astype(np.float64), self.space.n, 0)
        q = self.quality.predict(np.hstack([rows, np.tile(self.quality._codes, (len(windows), 1))]))
        for w, qw in zip(windows, q.reshape(len(windows), self.space.n), strict=False):
            self._q_cache[w.tobytes()] = qw
            if self.config.lookahead:
                head = w[self._step_dim:].astype(np.float64)
                self._look_cache.setdefault(head.tobytes(), self._lookahead_quality(head))
        if self.config.lookahead:  # from the rows just cached: no k-NN query
            for t, w in zip(turns, windows, strict=True):
                if t <= min(self.config.two_turns_until, max_turn - 1):
                    self._second_rows(w[self._step_dim:].astype(np.float64))

    # --- decision ---------------------------------------------------------------------------
    def estimates(self, observation: np.ndarray, reference: bool = False) -> dict[str, np.ndarray]:
        """Per-action quality, reward, look-ahead value and score (`reference`:
        no caches, every k-NN query asked the slow, obvious way; for tests)."""
        task = int(round(float(observation[HIST][-1])))
        q = (self.quality.predict_actions(observation[HIST]) if reference
             else self._current_quality(observation[HIST])) + self.offsets[task]
        raw = self._attach @ np.asarray(observation[ASSOC], dtype=np.float64)
        lo, hi = raw.min(), raw.max()
        na = (raw - lo) / (hi - lo) if hi > lo else np.zeros_like(raw)
        reward = self.weights.quality * q + self.weights.association * na - self._cost_term
        turn = int(observation[TURN])
        remaining = np.asarray(observation[REMAIN], dtype=np.float64)[self._budgeted]
        out = {"quality": q, "reward": reward, "score": reward}
        if self.config.lookahead and self.stats is not None:
            out["future"] = self._future_value(observation[HIST], task, turn, remaining, reference)
            out["score"] = out["score"] + out["future"]
        return out

    def _current_quality(self, window: np.ndarray) -> np.ndarray:
        """k-NN quality of every action from this window, memoised: the window is discrete
        (≤ 5 turns of location, views, task), so a cache keyed by its bytes is exact."""
        key = np.asarray(window, dtype=np.float32).tobytes()
        return memoised(self._q_cache, key, lambda: self._planned_quality(window))

    def _planned_quality(self, window: np.ndarray) -> np.ndarray:
        """This window's row of the previous turn's look-ahead when that is memoised (it asked
        the same k-NN the same 9 queries: bit-for-bit equal with shared ties), else a query."""
        w = np.asarray(window, dtype=np.float32)
        step = self._state_of.get(w[-self._step_dim:].tobytes()) if self.quality.ties else None
        if step is not None:
            prev = self._look_cache.get(w[: -self._step_dim].astype(np.float64).tobytes())
            if prev is not None:
                return prev[step]
        return self.quality.predict_actions(window)

    def _prepare_lookahead(self) -> None:
        """The look-ahead's exact k-NN (`lookahead.LookaheadKNN`), the dearest action per
        budgeted resource, and which (first action, next task) each next per-turn state is."""
        self._knn = LookaheadKNN(self.quality, self._next_state)
        self._exact_d2 = self._knn.exact
        self._max_raw = self._raw_costs.max(0)  # (R,): the dearest action per resource
        n, k = self._next_state.shape[:2]
        self._state_of = {np.asarray(self._next_state[a, t], np.float32).tobytes(): (a, t)
                          for a in range(n) for t in range(k)}

    def _lookahead_quality(self, head: np.ndarray) -> np.ndarray:
        """Quality (n first actions, k next tasks, n next actions) of every next-turn query
        whose first 20 numbers are `head` (exact; `lookahead.LookaheadKNN.quality`)."""
        return self._knn.quality(head)

    def _lookahead_quality_reference(self, head: np.ndarray) -> np.ndarray:
        """The slow, obvious version of `_lookahead_quality`, kept as the definition the fast
        path is tested against."""
        return self._knn.reference(head)

    def _future_value(self, window: np.ndarray, task: int, turn: int, remaining: np.ndarray,
                      reference: bool = False) -> np.ndarray:
        """Per action: P(next turn) · E_next task[max_a' r̂(s', a') (+ the turn
        after: `_second_turn_value`)], where s' is the state after the action. Next actions are
        limited to what the budget would still allow."""
        cont = self._cont[min(turn, len(self._cont) - 1)]
        if cont <= 0:
            return np.zeros(self.space.n)
        head = np.asarray(window[self._step_dim:], dtype=np.float64)
        if reference:
            q = self._lookahead_quality_reference(head)
        else:
            q = self._lookahead_rows(head)
        q = q + self.offsets[None, :, :]
        raw_costs = self._raw_costs  # (n, R) in resource units
        left = remaining[None, :] - raw_costs  # budget left after each first action
        next_fits = np.all(raw_costs[None, :, :] <= left[:, None, :] + TOL, 2)  # (first, next)
        r = self.weights.quality * q + self._future_reward_base[None, None, :]
        if turn <= self.config.two_turns_until:
            r = r + self._second_turn_value(head, turn, left, reference)
        r = np.where(next_fits[:, None, :], r, -np.inf)
        best = r.max(2)
        value = np.where(np.isfinite(best), best, 0.0)  # nothing fits: no further reward
        return cont * (value @ self._trans[task])

    def _second_turn_value(self, head: np.ndarray, turn: int, left: np.ndarray,
                           reference: bool = False) -> np.ndarray:
        """(first action a, next task k, next action a'): P(a turn after next) · E_k2[max_a''
        r̂(s'', a'')] over the actions the budget left after a and a' still allows, where s''
        follows a, k, a', k2. Its k-NN rows are the look-ahead rows of the 36 heads one turn on
        (cached for turns ≤ `WARM_TURNS`). Rating offsets enter it. With no offsets and room
        for any two more actions (the usual case at turns 0-1) it is the same for every
        budget, so it is memoised per head."""
        cont = self._cont[min(turn + 1, len(self._cont) - 1)]
        n, k = self._next_state.shape[:2]
        if cont <= 0:
            return np.zeros((n, k, n))
        raw = self._raw_costs
        free = (not reference and not self.offsets.any()
                and bool(np.all(self._max_raw <= (left.min(0) - self._max_raw) + TOL)))
        if free:
            return memoised(self._second_free, (head.tobytes(), turn), lambda: self._second_value(
                self._second_rows(head), np.ones((n, n, n), dtype=bool), cont), SECOND_CACHE_SIZE)
        left2 = left[:, None, :] - raw[None, :, :]  # (a, a', R) after the first two actions
        fits2 = np.all(raw[None, None, :, :] <= left2[:, :, None, :] + TOL, 3)  # (a, a', a'')
        return self._second_value(self._second_rows(head, reference), fits2, cont)

    def _second_value(self, q2: np.ndarray, fits2: np.ndarray, cont: float) -> np.ndarray:
        """`_second_turn_value` from the rows (a, k, a', k2, a'') and what fits (a, a', a'')."""
        r = self.weights.quality * (q2 + self.offsets) + self._future_reward_base
        r = np.where(fits2[:, None, :, None, :], r, -np.inf)
        best = r.max(4)
        best = np.where(np.isfinite(best), best, 0.0)  # nothing fits: no further reward
        return cont * np.einsum("akbj,kj->akb", best, self._trans)

    def _second_rows(self, head: np.ndarray, reference: bool = False) -> np.ndarray:
        """(a, k, a', k2, a''): the look-ahead rows of the 36 heads one turn on from `head`,
        memoised by its bytes (`reference`: every k-NN query asked afresh, for tests)."""
        if reference:
            return self._next_heads_rows(head, self._knn.reference)
        return memoised(self._second, head.tobytes(),
                        lambda: self._next_heads_rows(head, self._lookahead_rows), SECOND_CACHE_SIZE)

    def _next_heads_rows(self, head: np.ndarray, rows: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """`rows` of each head one turn on from `head` (after first action a, next task k)."""
        n, k, width = self._next_state.shape
        heads = np.concatenate([np.broadcast_to(head[self._step_dim:], (n, k, len(head) - width)),
                                self._next_state], 2).reshape(n * k, -1)
        return np.stack([rows(h) for h in heads]).reshape(n, k, n, k, n)

    def _lookahead_rows(self, head: np.ndarray) -> np.ndarray:
        """`_lookahead_quality(head)`, memoised by the head's bytes (exact: the head is discrete)."""
        return memoised(self._look_cache, head.tobytes(), lambda: self._lookahead_quality(head))

    def observe(self, context: TurnContext) -> np.ndarray:
        """The contract's observation: the M4A1 layout (`policies.m4a1.features`)."""
        return context_observation(context, self.space)

    def decide(self, observation: np.ndarray, mask: np.ndarray, guard: bool = True) -> Decision:
        est = self.estimates(observation)
        allowed = np.array(mask, dtype=bool)
        if guard:  # defence in depth: never trust the caller to have applied the guard
            remaining = np.asarray(observation[REMAIN], dtype=np.float64)
            bounded = np.isfinite(remaining)  # `guard.affordable_mask` on every RESOURCES column
            allowed &= fits(remaining[bounded], self._worst[:, bounded])
        if not allowed.any():
            a = 0
            return Decision(a, "local", (), 0.0, _lists(est, self.action_costs), {},
                            "no action is affordable: refuse the turn")
        score = np.where(allowed, est["score"], -np.inf)
        a = int(np.argmax(score))
        z = (score - score[a]) / self.config.temperature
        e = np.exp(z)
        p = e / e.sum()
        act = self._actions[a]
        reason = (f"{act.location} with {len(act.attachments)} attachment(s): expected reward "
                  f"{est['reward'][a]:.2f}")
        return Decision(a, act.location, act.attachments, float(p[a]), _lists(est, self.action_costs),
                        {}, reason)

    # --- online refinement ------------------------------------------------------------------
    def task_of(self, observation: np.ndarray) -> int:
        """The task id in the observation's newest per-turn state."""
        return int(round(float(np.asarray(observation)[HIST][-1])))

    def update_from_rating(self, task: int, action: int, rating: float, predicted: float | None = None,
                           lr: float | None = None) -> float:
        """Move the quality estimate of (task, action) toward an observed rating.

        `rating` is on the quality scale (M4A1: 0..2 typical); `predicted` is the quality the
        policy estimated at decision time (`Decision.estimates["quality"][action]`). The offset
        moves by lr · (rating − predicted); returns the new offset.
        """
        lr = self.config.rating_lr if lr is None else lr
        if predicted is None:
            predicted = float(self.quality.quality.mean() + self.offsets[task, action])
        self.offsets[task, action] += lr * (float(rating) - float(predicted))
        return float(self.offsets[task, action])

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path, command: str = "") -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cfg = asdict(self.config)
        doc = {"version": ARTIFACT_VERSION, "policy": self.name, "command": command,
               "config": cfg, "weights": asdict(self.weights),
               "offsets": self.offsets.tolist(),
               "quality_model": self.quality.to_dict(),
               "stats": asdict(self.stats) if self.stats is not None else None}
        path.write_text(json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> LookaheadPlanner:
        doc = json.loads(Path(path).read_text())
        # an artifact saved before the multipliers were removed also holds their table and
        # their training settings (epochs, lr, scale_range): neither enters a decision now
        known = {f.name for f in fields(LookaheadConfig)}
        config = LookaheadConfig(**{k: v for k, v in doc["config"].items() if k in known})
        return cls(QualityModel.from_dict(doc["quality_model"]),
                   cost_table(config.device, config.network), RewardWeights(**doc["weights"]),
                   config, np.asarray(doc["offsets"]),
                   DialogueStats(**doc["stats"]) if doc.get("stats") else None)


def _lists(est: dict[str, np.ndarray], costs: dict[str, np.ndarray]) -> dict[str, list[float]]:
    out = {k: np.asarray(v).tolist() for k, v in est.items()}
    out.update({k: v.tolist() for k, v in costs.items()})
    return out
