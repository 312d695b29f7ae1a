"""Ratings -> what the policy decides with for this person, and for everyone, within bounds.

A rating is mapped onto the 0..2 quality scale (thumbs up = 2, thumbs down = 0, stars 1–5 =
0, 0.5, …, 2) and becomes a lesson: the rating minus the deciding policy's own estimate for
the rated action (`policies.preferences.residual`, the policy's `rating_scale` converting its
quality units) keyed by the policy's task for the turn and the action. The lessons go to a
`PreferenceBook` per policy: this session's own offsets, on top of a shared prior that moves
with shrinkage and a per-rater bound, so one rating or one person cannot flip everyone
(the maths and its bounds are in `policies/preferences.py`). The rater is the client
address the page's handlers saw (`Session.client`, `app/client_address.py`), kept as a hash
(`rater_of`): sessions cost nothing to open, so all of one address's sessions together
teach the shared prior as much as one session. The engine asks `preferences`
for the session's weights and offsets at each decision; a `RatingLearner` policy that steers
(`decide_with`) uses them; baselines ignore them.

Lessons are stored (`app/lessons.py`, the `lessons` table) and replayed when the learner starts,
so nothing learned is forgotten on restart. A turn teaches once (the table's unique turn id,
across restarts and replicas; a later rating is stored in the log, not learned from again),
and a session teaches at most `max_ratings_per_session` times (LCIO_MAX_RATINGS_PER_SESSION).
Another replica's lessons are read when this one next learns (or restarts).

An overrule is a preference too: when a person forces local or cloud and the answer comes,
the forced action gets the lesson a thumbs up would give it (`on_turn`). It is not stored as
a rating (the log's decision JSON already says "overruled").
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from app.lessons import LessonStore
from app.session import Session
from app.store import SessionStore
from backends.config import get_settings
from policies.base import Policy, Preferences, RatingLearner
from policies.preferences import Lesson, Mode, PreferenceBook, ShrinkConfig, residual
from policies.roster import canonical

log = logging.getLogger(__name__)
QUALITY_MAX = 2.0


def rater_of(session: Session) -> str:
    """Who a session's lessons count as in the shared prior: a hash of the client address
    the page saw (a pseudonym for pooling, not anonymity: IPv4 has few addresses), or ""
    (the session itself) when no address is known."""
    if not session.client:
        return ""
    return hashlib.sha256(f"lcio-rater\0{session.client}".encode()).hexdigest()[:20]


def rating_to_quality(thumbs: int | None, stars: int | None) -> float | None:
    """A person's rating on the 0..2 quality scale; stars win over thumbs."""
    if stars is not None:
        return QUALITY_MAX * (min(5, max(1, int(stars))) - 1) / 4
    if thumbs is not None:
        return QUALITY_MAX if thumbs > 0 else 0.0
    return None


class OnlineLearner:
    """Turns ratings into lessons, keeps one preference book per policy, and says what a
    session decides with (`preferences`)."""

    def __init__(self, store: SessionStore, policy_for: Callable[[str], Policy],
                 max_per_session: int | None = None, config: ShrinkConfig | None = None,
                 mode: Mode = "personal") -> None:
        self.store = store
        self.policy_for = policy_for
        self.max_per_session = (get_settings().max_ratings_per_session if max_per_session is None
                                else max_per_session)
        self.config, self.mode = config or ShrinkConfig(), mode
        self.lessons = LessonStore(store.url)
        self.books: dict[str, PreferenceBook] = {}  # per policy name
        self.points: dict[str, list[dict[str, float]]] = {}  # per session id
        self._taught: set[int] = set()  # turns that have taught (here or in the store)
        self._applied: set[int] = set()  # ids of the stored lessons in the books
        self._count: dict[str, int] = {}  # per session id: lessons given
        self._last_id = 0
        self._lock = threading.Lock()
        self._catch_up()

    # -- the book ------------------------------------------------------------------------

    def book(self, policy_name: str) -> PreferenceBook:
        policy_name = canonical(policy_name)  # lessons logged under a former name count too
        if policy_name not in self.books:
            self.books[policy_name] = PreferenceBook(0, 0, self.config, self.mode)
        return self.books[policy_name]

    def _catch_up(self) -> None:
        """Replay the stored lessons not yet in the books (all of them at start; another
        replica's since). The read runs outside the lock that decisions take."""
        rows = self.lessons.since(self._last_id)
        with self._lock:
            for row in rows:
                self._last_id = max(self._last_id, int(row["id"]))
                lesson = Lesson(row["session_id"], int(row["task"]), int(row["action"]),
                                float(row["residual"]), row.get("rater") or "")
                self._apply(int(row["id"]), row["policy"], lesson)
                if int(row["turn_id"]) not in self._taught:  # else this learner claimed it
                    self._taught.add(int(row["turn_id"]))
                    self._count[lesson.session] = self._count.get(lesson.session, 0) + 1

    def _apply(self, lesson_id: int, policy_name: str, lesson: Lesson) -> bool:
        """Add a stored lesson to its book once (by its id); the caller holds the lock."""
        if lesson_id in self._applied:
            return False
        self._applied.add(lesson_id)
        self.book(policy_name).add(lesson)
        return True

    def preferences(self, session: Session, policy: Policy, observation: np.ndarray) -> Preferences:
        """The session's weights and, for a policy that learns from ratings, its offsets (in
        the policy's quality units) for this turn's task."""
        if not isinstance(policy, RatingLearner) or not policy.steerable:
            return Preferences(session.weights)
        task = policy.task_of(observation)
        with self._lock:
            offsets = self.book(session.policy_name).offsets(session.id, task)
        n = policy.space.n
        offsets = np.pad(offsets[:n], (0, max(0, n - len(offsets))))
        return Preferences(session.weights, offsets * policy.rating_scale)

    def points_of(self, session_id: str) -> list[dict[str, float]]:
        """The learning figure's points of one session (nobody sees another's ratings)."""
        with self._lock:
            return list(self.points.get(session_id, []))

    # -- ratings -------------------------------------------------------------------------

    def rate(self, session: Session, turn_id: int, thumbs: int | None, stars: int | None) -> str:
        """Store the rating, learn from it if the turn has not taught yet, say what happened."""
        row = self.store.turn(turn_id)
        if row is None or row["session_id"] != session.id:
            return "That answer is not part of this session."
        quality = rating_to_quality(thumbs, stars)
        self.store.log_rating(turn_id, session.id, thumbs, stars, quality)
        if quality is None:
            return "Rating cleared."
        self._catch_up()
        refused = self._claim(session, turn_id)
        if refused == "taught":
            return (f"Rating updated ({quality:.1f}/2); this answer was already rated, so the "
                    "policy does not learn from it again.")
        if refused == "cap":
            return (f"Thanks — rating stored ({quality:.1f}/2). This session has taught the "
                    f"policy {self.max_per_session} times already, so it learns no more from it.")
        return self._learn(session, row, quality, "rating")

    def on_turn(self, session: Session, record: Any) -> None:
        """The engine's hook: learn from an applied overrule of the location."""
        over = getattr(record, "overrule", None) or {}
        if not (over.get("applied") and over.get("forced")) or record.turn_id is None:
            return
        if record.status != "answered" or record.location != over.get("forced"):
            return  # refused by the guard, or the forced cloud fell back: nothing to learn
        try:
            row = self.store.turn(record.turn_id)
            self._catch_up()
            if row is not None and self._claim(session, record.turn_id) is None:
                self._learn(session, row, QUALITY_MAX, "overrule")
        except Exception:  # learning must never break the turn that taught it
            log.exception("learning from an overrule failed")

    def _claim(self, session: Session, turn_id: int) -> str | None:
        """Reserve the turn's one lesson and a place in the session's cap (None), or say why
        not: "taught" or "cap"."""
        with self._lock:
            if turn_id in self._taught:
                return "taught"
            if self._count.get(session.id, 0) >= self.max_per_session:
                return "cap"
            self._taught.add(turn_id)
            self._count[session.id] = self._count.get(session.id, 0) + 1
            return None

    def _learn(self, session: Session, row: dict[str, Any], quality: float, source: str) -> str:
        """One lesson from a claimed turn rated `quality` (0–2)."""
        name = row["policy"] or session.policy_name
        policy = self.policy_for(name)
        thanks = f"Thanks — rating stored ({quality:.1f} on the 0–2 quality scale)."
        obs = np.asarray(json.loads(row["observation"] or "[]"), dtype=np.float32)
        learns = (isinstance(policy, RatingLearner) and row["action"] is not None
                  and row["status"] == "answered")
        estimate = _estimate(policy, obs, int(row["action"])) if learns else None
        if estimate is None:  # nothing to learn, or an observation this policy cannot read
            self._release(session)
            return thanks
        task, action = policy.task_of(obs), int(row["action"])
        lesson = Lesson(session.id, task, action, residual(quality, estimate, policy.rating_scale),
                        rater_of(session))
        lesson_id = self.lessons.add(row["id"], session.id, name, task, action, lesson.residual,
                                     source, lesson.rater)
        if lesson_id is None:  # another replica learned from this turn first: read its lesson
            self._catch_up()
            return f"Rating updated ({quality:.1f}/2); this answer has taught the policy already."
        with self._lock:
            book = self.book(name)
            before = self._belief(book, session.id, task, action, estimate, policy.rating_scale)
            self._apply(lesson_id, name, lesson)  # once, even if a catch-up read it meanwhile
            after = self._belief(book, session.id, task, action, estimate, policy.rating_scale)
            self.points.setdefault(session.id, []).append(
                {"reward": quality, "before": before, "preference": after})
        return (f"Thanks — the policy learned from your rating ({quality:.1f}/2). For you, its "
                f"estimate for that choice moved {before:.2f} → {after:.2f} (0–2 scale).")

    def _release(self, session: Session) -> None:
        """Give back the session's place in the cap: its claimed turn made no lesson."""
        with self._lock:
            self._count[session.id] = max(0, self._count.get(session.id, 0) - 1)

    @staticmethod
    def _belief(book: PreferenceBook, session: str, task: int, action: int, estimate: float,
                scale: float) -> float:
        """What the session's decision believes of (task, action), on the 0..2 scale."""
        offsets = book.offsets(session, task)
        extra = float(offsets[action]) if action < len(offsets) else 0.0
        return estimate / max(scale, 1e-12) + extra


def _estimate(policy: RatingLearner, obs: np.ndarray, action: int) -> float | None:
    """The policy's own quality estimate for `action` at `obs` (None if it cannot say)."""
    if obs.size == 0:
        return None
    try:
        value = float(np.asarray(policy.estimates(obs)["quality"])[action])
    except Exception:  # an observation from another layout: no lesson, no crash
        return None
    return value if np.isfinite(value) else None
