"""One turn end to end, independent of any UI (the chat, the API and a study mode share it).

check input (app/intake.py) -> Attachments in slots -> observation -> mask (absent
attachments + budget guard) -> policy.decide_with(observation, mask, the session's
preferences: its reward weights and what ratings taught, `preferences`) -> hold the
action's worst case in the ledger -> yield the decision -> backend.stream (yield deltas,
stopped at the budget's deadline) -> charge -> log -> yield the finished record. The cloud
failing falls back to the local model (if the budget left can pay for it) with the reason on
the record; a turn that no action can pay for is refused with the reason, and nothing runs:
no turn makes a budget go negative.

Which files fill the policy's attachment slots, and how audio counts: `app.slots`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from app.deadlines import Deadlines
from app.defaults import simple_observation, weights_only
from app.guard import (
    FLOOR_TOKENS,
    PriceFn,
    SpeedModel,
    admission,
    pacing_lengths,
    run_bound,
    seconds_left,
    worst_case,
    worst_cases,
)
from app.intake import clean_text, read_input
from app.predict import CostPredictor, Prediction, TurnShape, turn_shape
from app.savings import alternatives
from app.session import Cost, Session
from app.slots import attachment_prompt, local_index, place_attachments, refused_actions
from app.store import SessionStore
from app.switches import thread_switches
from app.turn import (  # noqa: F401 (REJECTED_PROMPT_CHARS, TurnEvent: re-exported for callers)
    BUDGET_IN_USE,
    REJECTED_PROMPT_CHARS,
    Overrule,
    TurnEvent,
    TurnRecord,
    apply_overrule,
    budget_cannot_pay,
    forced_decision,
    log_row,
    no_backend_takes,
    per_turn_row,
)
from app.zerogpu import local_stream
from backends.base import Backend
from backends.config import Settings, get_settings
from backends.errors import BackendError
from backends.types import Attachment, ChatRequest, Completion, Message
from policies.base import Action, ActionSpace, Decision, Policy, Preferences
from policies.guard import guard_quantile

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 8  # the backends trim further to their context windows
# Seconds before a turn's waiting budget runs out at which its answer is stopped (and the
# cloud call's timeout ends), leaving time to close the call and book it.
STOP_MARGIN_S = 0.3


Observe = Callable[[Session, TurnRecord, ActionSpace], np.ndarray]
PreferencesFn = Callable[[Session, Policy, np.ndarray], Preferences]


class Engine:
    """Runs turns for any number of sessions; one instance per process."""

    def __init__(self, store: SessionStore, policy_for: Callable[[str], Policy],
                 backend_for: Callable[[str], Backend], observe: Observe | None = None,
                 settings: Settings | None = None, price_usd: PriceFn | None = None,
                 on_turn: Callable[[Session, TurnRecord], None] | None = None,
                 preferences: PreferencesFn | None = None) -> None:
        self.store = store
        # What a session decides with besides the observation (app/online.py's learner).
        self.preferences = preferences or weights_only
        self.policy_for = policy_for
        self.backend_for = backend_for
        self.observe = observe or simple_observation
        self.settings = settings or get_settings()
        self.price_usd = price_usd
        self.speed = SpeedModel()
        self.predictor = CostPredictor(self.settings, price_usd)  # what the person is told
        self.guard_quantile = guard_quantile()  # the budget guard admits by this quantile
        self.dialogue_lengths = pacing_lengths(store.session_lengths())  # read once, at start
        self.on_turn = on_turn
        self._stops: dict[str, threading.Event] = {}
        self._stops_lock = threading.Lock()
        self._deadlines = Deadlines()
        self._ledger_lock = threading.Lock()

    # -- control -------------------------------------------------------------------------

    def stop(self, session_id: str) -> bool:
        """Ask the session's running generation to stop; True if one was running."""
        with self._stops_lock:
            event = self._stops.get(session_id)
        if event is None:
            return False
        event.set()
        return True

    # -- the turn ------------------------------------------------------------------------

    def run(self, session: Session, text: str | None, files: list[str | Attachment] | None = None,
            max_new_tokens: int | None = None, overrule: Overrule | None = None
            ) -> Iterator[TurnEvent]:
        """Answer one turn; yields the decision first, then deltas, then the record.

        `files` are uploads (paths, checked and measured here) or Attachments already checked;
        `overrule` is what the person forced before sending (applied inside the guard's mask)."""
        record, problem = self._intake(session, text, files)
        if problem:
            yield self._reject(session, record, problem)
            return
        policy = self.policy_for(session.policy_name)
        space = policy.space
        place_attachments(record, space)
        observation = self._observation(session, record, space)
        n_new = max_new_tokens or self.settings.max_new_tokens
        drop = overrule.drop if overrule else frozenset()
        present = [i < len(record.slots) and str(record.slots[i].path) not in drop
                   for i in range(space.slots)]
        mask, problem = self._offer(session, record, space, present, n_new)
        if problem:
            yield self._reject(session, record, problem)
            return
        decision = self._choose(session, record, policy, observation, mask, overrule)
        held = self._hold(session, record, space.actions[decision.action], n_new)
        if held is None:
            yield self._reject(session, record, BUDGET_IN_USE)
            return
        n_new = held
        record.decision, record.taken = decision, decision.action
        record.action = space.actions[decision.action]
        record.expected_range = self._expected(session, record, record.action, n_new)
        record.expected, record.expected_source = record.expected_range.cost, "predicted"
        record.decided_at = time.perf_counter()
        stop = threading.Event()
        ran_out = threading.Event()  # set with `stop` when a budget ran out mid-answer
        try:
            yield TurnEvent("decision", record)
            with self._stops_lock:
                self._stops[session.id] = stop
            yield from self._answer(session, record, n_new, stop, ran_out)
        finally:
            with self._stops_lock:
                if self._stops.get(session.id) is stop:
                    del self._stops[session.id]
            self._release(session, record)
        if ran_out.is_set() and record.status == "cancelled" and not record.error:
            record.error = "Stopped where the session's waiting-time or energy budget ran out."
        yield self._finish(session, record)

    def _intake(self, session: Session, text: str | None, files: list[str | Attachment] | None
                ) -> tuple[TurnRecord, str]:
        """The turn's record with its checked files, and what is wrong with them ("" if nothing)."""
        text = clean_text(text or "").strip()
        record = TurnRecord(session.id, session.take_log_index(), text, policy=session.policy_name)
        try:
            attachments, problem = read_input(text, files or [], self.settings)
            for att in attachments:
                (record.always if att.kind == "audio" else record.slots).append(att)
        except Exception as exc:  # an unforeseen file must cost a message, never the session
            log.exception("reading the input failed")
            problem = (f"The attachment could not be read ({type(exc).__name__}). Nothing was "
                       "sent; please try again without it.")
        return record, problem

    def _observation(self, session: Session, record: TurnRecord, space: ActionSpace) -> np.ndarray:
        """The deciding policy's observation; a plain one if building it fails (never the turn)."""
        try:
            observation = np.asarray(self.observe(session, record, space), dtype=np.float32)
        except Exception as exc:  # a feature bug must not end the session
            observation = simple_observation(session, record, space)
            record.error = f"observation fallback: {type(exc).__name__}"
        record.observation = [float(x) for x in observation.ravel()]
        return observation

    def _offer(self, session: Session, record: TurnRecord, space: ActionSpace, present: list[bool],
               n_new: int) -> tuple[np.ndarray, str]:
        """The actions the policy may choose among: those using files that are there, that the
        backend takes (`Backend.accepts`) and that the budget guard admits; or why there is none."""
        actions, history = space.actions, self._history(session)
        record.worst = worst_cases(actions, record.slots, record.always, record.prompt, history,
                                   self.settings, self.speed, self.price_usd, n_new)
        record.refused = refused_actions(actions, record.slots, record.always, self.backend_for)
        possible = space.mask_for(present) & ~np.isin(np.arange(space.n), list(record.refused))
        if not possible.any():
            return possible, no_backend_takes(set(record.refused.values()))
        mask, record.masked = self._admit(session, record, actions, possible.copy(), n_new)
        if not mask.any():  # running anything would overrun a budget: say so, send nothing
            return mask, budget_cannot_pay({reason for i, reason in record.masked.items() if possible[i]})
        return mask, ""

    def _choose(self, session: Session, record: TurnRecord, policy: Policy, observation: np.ndarray,
                mask: np.ndarray, overrule: Overrule | None) -> Decision:
        """The policy's decision within the mask (timed), then what the person overruled."""
        space = policy.space
        preferences = self._preferences(session, policy, observation, record)
        switches = thread_switches()
        wall, cpu = time.perf_counter(), time.thread_time()
        decision = policy.decide_with(observation, mask.copy(), preferences)
        record.decide_ms = ((time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3)
        record.decide_switches = tuple(b - a for a, b in zip(switches, thread_switches(), strict=True))
        if not mask[decision.action]:  # never trust a policy to respect the mask
            decision = forced_decision(space, mask, "the policy chose a masked action")
        if overrule is not None and (overrule.location or overrule.drop):
            decision = apply_overrule(record, space, mask, decision, overrule)
        return decision

    def _history(self, session: Session) -> list[Message]:
        """The system prompt (LCIO-Bench's, `LCIO_SYSTEM_PROMPT`) and the last turns: the guard,
        the predictor and the request all read it, so every word sent is bounded and priced."""
        system = [Message("system", self.settings.system_prompt)] if self.settings.system_prompt else []
        return [*system, *session.history[-HISTORY_MESSAGES:]]

    def _preferences(self, session: Session, policy: Policy, observation: np.ndarray,
                     record: TurnRecord) -> Preferences:
        """The session's preferences; its weights alone if the learner fails (never the turn)."""
        try:
            prefs = self.preferences(session, policy, observation)
        except Exception as exc:
            log.exception("the session's preferences could not be read")
            record.error = record.error or f"preferences fallback: {type(exc).__name__}"
            prefs = Preferences(session.weights)
        record.preferences = prefs
        return prefs

    def _admit(self, session: Session, record: TurnRecord, actions: list[Action], allowed: np.ndarray,
               n_new: int) -> tuple[np.ndarray, dict[int, str]]:
        """The guard's mask (`app.guard.admission`): quantile of the predicted cost + pacing."""
        history = self._history(session)
        floors = worst_cases(actions, record.slots, record.always, record.prompt, history,
                             self.settings, self.speed, self.price_usd, min(FLOOR_TOKENS, n_new))
        bounds = self.predictor.bounds([self._shape(session, record, a, n_new) for a in actions],
                                       self.guard_quantile)
        points = [b[0] for b in bounds]  # the predictor's estimate of each action
        record.alternatives = alternatives(actions, points, allowed)  # app.savings
        admitted = admission(record.worst, floors, [b[1] for b in bounds], points,
                             session.ledger, session.turn_index, allowed,
                             lengths=self.dialogue_lengths)
        return admitted.mask, admitted.why

    def _hold(self, session: Session, record: TurnRecord, action: Action, n_new: int) -> int | None:
        """Reserve what `action` may spend (`app.guard.run_bound`) in the session's ledger if
        it still fits (atomically, as two turns of one session may run at once); the turn
        releases it when it ends. Returns the most tokens the answer may have, else None."""
        with self._ledger_lock:
            bound = run_bound(lambda n: self._worst(session, record, action, n), n_new,
                              session.ledger.remaining)
            if bound is None:
                return None
            session.ledger.reserve(bound[0])
            record.held = bound[0]
            return bound[1]

    def _release(self, session: Session, record: TurnRecord) -> None:
        with self._ledger_lock:
            session.ledger.release(record.held)
            record.held = Cost()

    def _worst(self, session: Session, record: TurnRecord, action: Action, n_new: int) -> Cost:
        return worst_case(action, record.slots, record.always, record.prompt, self._history(session),
                          self.settings, self.speed, self.price_usd, n_new)

    def _shape(self, session: Session, record: TurnRecord, action: Action, n_new: int) -> TurnShape:
        # The history as it stands before this turn's answer joins it (the request's own).
        return turn_shape(action, record.slots, record.always, record.prompt,
                          self._history(session), self.settings, n_new)

    def _expected(self, session: Session, record: TurnRecord, action: Action, n_new: int) -> Prediction:
        """What the person is told to expect for `action` (the guard keeps its worst case)."""
        return self.predictor.predict(self._shape(session, record, action, n_new))

    def _run_for_s(self, session: Session, record: TurnRecord) -> float:
        """Seconds the answer may stream before its budget's deadline stops it."""
        left = session.ledger.remaining + record.held  # its own reservation included
        return max(0.0, seconds_left(left, record.location, self.settings) - STOP_MARGIN_S)

    # -- steps ---------------------------------------------------------------------------

    def _request(self, session: Session, record: TurnRecord, n_new: int,
                 stop: threading.Event) -> ChatRequest:
        history = self._history(session)
        message = Message("user", record.prompt or attachment_prompt(record.used),
                          tuple(record.used))
        return ChatRequest(messages=[*history, message], max_new_tokens=n_new, stop=stop,
                           time_left_s=self._run_for_s(session, record))

    def _answer(self, session: Session, record: TurnRecord, n_new: int,
                stop: threading.Event, ran_out: threading.Event) -> Iterator[TurnEvent]:
        location = record.location
        wasted = Cost()  # what a failed cloud attempt cost before the local model took over
        if location == "cloud":
            started = time.perf_counter()
            try:
                yield from self._stream("cloud", session, record, n_new, stop, ran_out)
                return
            except BackendError as exc:
                # The time waited, and the dollars of any tokens streamed before it failed.
                partial = exc.partial_cost.cost_usd if exc.partial_cost else 0.0
                wasted = Cost(usd=max(exc.cost_usd, partial),
                              latency_s=time.perf_counter() - started)
                reason = exc.message
            except Exception as exc:  # an unexpected cloud bug must not end the session
                wasted = Cost(latency_s=time.perf_counter() - started)
                reason = f"unexpectedly, {type(exc).__name__}"
            session.ledger.charge_cost(wasted)
            self._release(session, record)
            record.answer = ""
            record.actual = wasted
            local = Action("local", record.action.attachments)
            held = self._hold(session, record, local, n_new)  # guarded like any other action
            if held is None:
                _, why = session.ledger.can_afford(self._worst(session, record, local, FLOOR_TOKENS))
                record.status = "failed"
                record.error = (f"The cloud failed ({reason}), and what is left of the budget "
                                f"cannot pay a local answer ({why or 'another turn holds it'}).")
                return
            n_new = held
            record.fallback = f"The cloud failed ({reason}); the local model answers."
            record.action = local
            record.taken = local_index(self.policy_for(session.policy_name).space, record.action)
            yield TurnEvent("fallback", record)
        if stop.is_set():
            record.status = "cancelled"
            return
        try:
            yield from self._stream("local", session, record, n_new, stop, ran_out)
        except BackendError as exc:
            record.status, record.error = "failed", exc.message
        except Exception as exc:
            record.status = "failed"
            log.exception("local turn failed")
            record.error = f"The local model failed ({type(exc).__name__}). Please try again."
        if location == "cloud" and record.actual is not wasted:
            record.actual = (record.actual or Cost()) + wasted

    def _stream(self, location: str, session: Session, record: TurnRecord, n_new: int,
                stop: threading.Event, ran_out: threading.Event) -> Iterator[TurnEvent]:
        backend = self.backend_for(location)
        request = self._request(session, record, n_new, stop)
        # The guard's speeds are priors and measurements: should this answer still run past
        # what is left of the waiting-time (or, locally, energy) budget, stop it there.
        # The margin leaves time to close the call and book it before the budget is reached.
        deadline = self._deadlines.add(self._run_for_s(session, record), ran_out, stop)
        try:
            items = local_stream(backend, request) if location == "local" else backend.stream(request)
            for item in items:
                if isinstance(item, Completion):
                    record.completion = item
                elif item:
                    record.answer += item
                    yield TurnEvent("delta", record, item)
        finally:
            self._deadlines.cancel(deadline)
        completion = record.completion
        if completion is None:
            raise BackendError("The answer ended without its accounting.")
        record.actual = session.ledger.charge(completion)
        if session.ledger.overspent():  # the guard's promise broke: say so loudly in the log
            log.error("session %s overspent %s after a %s answer costing %s (worst case %s)",
                      session.id, session.ledger.overspent(), location, record.actual, record.held)
        self.speed.observe(location, completion)
        self.predictor.observe(self._shape(session, record, record.action, n_new), completion)
        record.answer = completion.text or record.answer
        record.status = "cancelled" if completion.finish_reason == "cancelled" else "answered"

    def _finish(self, session: Session, record: TurnRecord) -> TurnEvent:
        """Log the turn, extend the history (answered turns only) and notify listeners."""
        record.turn_id = self.store.log_turn(log_row(session, record))
        session.turn_ids.append(record.turn_id)
        session.past_actions.append(record.taken if record.taken is not None else 0)
        session.past_prompts.append(record.prompt)
        session.past_attachments.append(record.action.attachments if record.action else ())
        session.per_turn.append(per_turn_row(record))
        if record.status in ("answered", "cancelled") and record.answer:
            session.history.append(Message("user", record.prompt or attachment_prompt(record.used)))
            session.history.append(Message("assistant", record.answer))
        if self.on_turn:
            self.on_turn(session, record)
        return TurnEvent("done", record)

    def _reject(self, session: Session, record: TurnRecord, problem: str) -> TurnEvent:
        record.status, record.error = "rejected", problem
        record.turn_id = self.store.log_turn(log_row(session, record))
        return TurnEvent("rejected", record)

