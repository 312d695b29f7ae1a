"""Ratings -> the policy's online update, and the points of the learning figure.

How the policy improves with use: a rating is mapped onto the quality scale the policy was
trained on (M4A1: 0–2; thumbs up = 2, thumbs down = 0, stars 1–5 = 0, 0.5, …, 2) and given
to the policy's `update_from_rating(task, action, rating, predicted)` when it is a
`policies.base.RatingLearner`. For LCIO's RCRL that
moves its per-(task, action) quality offset by lr · (rating − predicted), so an action that
people rate better than expected is chosen more often for that kind of prompt, by every
session of this process (the policy object is shared). Baselines have no such hook and
do not change. Every rating is stored, with the value given to the update, in the log.

One person cannot steer the shared policy alone: a turn teaches once (its first rating; a
later one is stored and replaces it in the log, but does not teach again), and a session
teaches at most `max_ratings_per_session` times (LCIO_MAX_RATINGS_PER_SESSION). Each update
moves one (task, action) offset by at most MAX_RATING_STEP.

An overrule is a preference too: when a person forces local or cloud and the answer comes,
the forced action gets the update a thumbs up would give it (`on_turn`), so the policy leans
toward what people choose for that kind of prompt. It is not stored as a rating (the log's
decision JSON already says "overruled").
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from app.session import Session
from app.store import SessionStore
from backends.config import get_settings
from policies.base import Policy, RatingLearner

log = logging.getLogger(__name__)
QUALITY_MAX = 2.0
# The most one rating may move a policy's (task, action) offset: lr 0.2 x the 0–2 scale.
MAX_RATING_STEP = 0.4


def rating_to_quality(thumbs: int | None, stars: int | None) -> float | None:
    """A person's rating on the policy's quality scale; stars win over thumbs."""
    if stars is not None:
        return QUALITY_MAX * (min(5, max(1, int(stars))) - 1) / 4
    if thumbs is not None:
        return QUALITY_MAX if thumbs > 0 else 0.0
    return None


class OnlineLearner:
    """Applies ratings to the shared policies and remembers how each update moved them."""

    def __init__(self, store: SessionStore, policy_for: Callable[[str], Policy],
                 max_per_session: int | None = None) -> None:
        self.store = store
        self.policy_for = policy_for
        self.max_per_session = (get_settings().max_ratings_per_session if max_per_session is None
                                else max_per_session)
        self.points: dict[str, list[dict[str, float]]] = {}  # per session id
        self._taught: set[int] = set()  # turns whose rating has taught the policy
        self._lessons: dict[str, int] = {}  # per session id: ratings that taught
        self._lock = threading.Lock()

    def points_of(self, session_id: str) -> list[dict[str, float]]:
        """The learning figure's points of one session (nobody sees another's ratings)."""
        with self._lock:
            return list(self.points.get(session_id, []))

    def rate(self, session: Session, turn_id: int, thumbs: int | None, stars: int | None) -> str:
        """Store the rating, update the policy that decided the turn, say what happened."""
        row = self.store.turn(turn_id)
        if row is None or row["session_id"] != session.id:
            return "That answer is not part of this session."
        quality = rating_to_quality(thumbs, stars)
        self.store.log_rating(turn_id, session.id, thumbs, stars, quality)
        if quality is None:
            return "Rating cleared."
        with self._lock:
            if turn_id in self._taught:
                return (f"Rating updated ({quality:.1f}/2); this answer was already rated, so the "
                        "policy does not learn from it again.")
            if self._lessons.get(session.id, 0) >= self.max_per_session:
                return (f"Thanks — rating stored ({quality:.1f}/2). This session has taught the "
                        f"policy {self.max_per_session} times already, so it learns no more from it.")
            self._taught.add(turn_id)
            self._lessons[session.id] = self._lessons.get(session.id, 0) + 1
        return self._learn(session, row, quality)

    def on_turn(self, session: Session, record: Any) -> None:
        """The engine's hook: learn from an applied overrule of the location."""
        over = getattr(record, "overrule", None) or {}
        if not (over.get("applied") and over.get("forced")) or record.turn_id is None:
            return
        if record.status != "answered" or record.location != over.get("forced"):
            return  # refused by the guard, or the forced cloud fell back: nothing to learn
        with self._lock:  # the same once-per-turn and per-session bounds as ratings
            if (record.turn_id in self._taught
                    or self._lessons.get(session.id, 0) >= self.max_per_session):
                return
            self._taught.add(record.turn_id)
            self._lessons[session.id] = self._lessons.get(session.id, 0) + 1
        try:
            row = self.store.turn(record.turn_id)
            if row is not None:
                self._learn(session, row, QUALITY_MAX)
        except Exception:  # learning must never break the turn that taught it
            log.exception("learning from an overrule failed")

    def _learn(self, session: Session, row: dict[str, Any], quality: float) -> str:
        """Move the estimate of the turn's action toward `quality` (0–2 scale)."""
        policy = self.policy_for(row["policy"] or session.policy_name)
        if not isinstance(policy, RatingLearner) or row["action"] is None or row["status"] != "answered":
            return f"Thanks — rating stored ({quality:.1f} on the 0–2 quality scale)."
        obs = np.asarray(json.loads(row["observation"] or "[]"), dtype=np.float32)
        decision: dict[str, Any] = json.loads(row["decision"] or "{}")
        predicted = _at(decision.get("estimates", {}).get("quality"), row["action"])
        task = policy.task_of(obs) if obs.size else _task_of(row["prompt"] or "")
        with self._lock:
            before = _estimate(policy, obs, row["action"])
            offsets = getattr(policy, "offsets", None)  # both RCRLs keep q-hat offsets here
            was = float(offsets[task, int(row["action"])]) if offsets is not None else None
            policy.update_from_rating(task, int(row["action"]), quality, predicted)
            if was is not None:  # a bounded step, whatever `predicted` the decision stored
                offsets[task, int(row["action"])] = float(np.clip(
                    offsets[task, int(row["action"])], was - MAX_RATING_STEP, was + MAX_RATING_STEP))
            after = _estimate(policy, obs, row["action"])
            self.points.setdefault(session.id, []).append(
                {"reward": quality, "before": before if before is not None else 0.0,
                 "preference": after if after is not None else 0.0})
        moved = "" if before is None or after is None else \
            f" Its estimate for that choice moved {before:.2f} → {after:.2f}."
        return f"Thanks — the policy learned from your rating ({quality:.1f}/2).{moved}"


def _at(values: list[float] | None, index: int) -> float | None:
    return float(values[index]) if values is not None and len(values) > index else None


def _task_of(prompt: str) -> int:
    from policies.m4a1.features import classify_task

    return classify_task(prompt)


def _estimate(policy: RatingLearner, obs: np.ndarray, action: int) -> float | None:
    """The policy's quality estimate for `action` at `obs`."""
    if obs.size == 0:
        return None
    try:
        return float(np.asarray(policy.estimates(obs)["quality"])[action])
    except Exception:  # an observation from another layout: no figure point, no crash
        return None
