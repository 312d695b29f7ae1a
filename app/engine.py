"""One turn end to end, independent of any UI (the chat, the API and a study mode share it).

validate input -> Attachments in slots -> observation -> mask (absent attachments + budget
guard) -> policy.decide -> yield the decision -> backend.stream (yield deltas) -> charge ->
log -> yield the finished record. The cloud failing, or the budget being unable to pay for
any action, falls back to the local model with the reason on the record.

Slots: the policy's action space has `slots` attachment slots. The shipped policy is trained
on LCIO-Bench (`ActionSpace(3, local_subsets=True)`), where audio is an attachment like an
image: it takes a slot and the policy chooses whether to use it, on either path (transcribed
through perception locally, sent as audio to the cloud). So, as the bench lays them out,
images fill the slots first in upload order and audio follows them; if there are more files
than slots, audio keeps its slots (it usually carries the question) and the images that do
not fit are left out, and said so. For a space without local subsets (M4A1's, one slot per
camera view) audio keeps the old rule: always used, takes no slot. Earlier turns'
attachments are not re-sent: the history carries their text only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from app.guard import SpeedModel, budget_mask, worst_case
from app.session import Cost, Session
from app.store import SessionStore
from backends.base import Backend
from backends.config import Settings, get_settings
from backends.errors import BackendError, UnreadableAttachment
from backends.types import Attachment, ChatRequest, Completion, Message
from policies.base import Action, ActionSpace, Decision, Policy

try:  # ZeroGPU on Hugging Face Spaces; a no-op everywhere else.
    import spaces  # type: ignore[import-not-found]

    _gpu = spaces.GPU
except ImportError:  # pragma: no cover - the normal case off Spaces

    def _gpu(fn: Callable[..., Any]) -> Callable[..., Any]:
        return fn


@_gpu
def _local_stream(backend: Backend, request: ChatRequest) -> Iterator[str | Completion]:
    """Local generation, the one part that wants the GPU when Spaces lends one."""
    yield from backend.stream(request)


log = logging.getLogger(__name__)

EventKind = Literal["decision", "delta", "fallback", "done", "rejected"]
HISTORY_MESSAGES = 8  # the backends trim further to their context windows


@dataclass
class TurnRecord:
    """Everything the decision card, the log and a study need about one turn."""

    session_id: str
    turn_index: int
    prompt: str
    policy: str = ""
    slots: list[Attachment] = field(default_factory=list)
    always: list[Attachment] = field(default_factory=list)  # audio outside the slots (M4A1 spaces)
    extra: list[Attachment] = field(default_factory=list)  # files beyond the slots
    observation: list[float] = field(default_factory=list)
    masked: dict[int, str] = field(default_factory=dict)  # action -> why the budget refused
    worst: list[Cost] = field(default_factory=list)
    decision: Decision | None = None
    action: Action | None = None
    expected: Cost | None = None
    expected_source: str = ""
    fallback: str = ""
    completion: Completion | None = None
    actual: Cost | None = None
    answer: str = ""
    status: str = "pending"  # answered | cancelled | rejected | failed
    error: str = ""
    turn_id: int | None = None
    taken: int | None = None  # index of the action actually taken (after any fallback)
    submitted_at: float = field(default_factory=time.perf_counter)
    decided_at: float | None = None

    @property
    def attachments(self) -> list[Attachment]:
        return self.slots + self.always + self.extra

    @property
    def used(self) -> list[Attachment]:
        if self.action is None:
            return []
        return [self.slots[i] for i in self.action.attachments if i < len(self.slots)] + self.always

    @property
    def left_out(self) -> list[tuple[Attachment, str]]:
        chosen = set(self.action.attachments) if self.action else set()
        out = [(a, "the policy left it out") for i, a in enumerate(self.slots) if i not in chosen]
        out += [(a, "more attachments than the policy's slots") for a in self.extra]
        return out

    @property
    def location(self) -> str:
        return self.action.location if self.action else ""


@dataclass
class TurnEvent:
    kind: EventKind
    record: TurnRecord
    text: str = ""


Observe = Callable[[Session, TurnRecord, ActionSpace], np.ndarray]


def simple_observation(session: Session, record: TurnRecord, space: ActionSpace) -> np.ndarray:
    """A fallback observation when `policies.features` is unavailable: which slots hold
    an attachment, audio present, previous action (normalised), turn index, budgets left."""
    present = [float(i < len(record.slots)) for i in range(space.slots)]
    prev = session.past_actions[-1] / max(1, space.n - 1) if session.past_actions else 0.0
    left = session.ledger.remaining_fractions()
    return np.array(present + [float(bool(record.always)), prev, min(session.turn_index, 20) / 20,
                               left["usd"], left["latency_s"], left["energy_j"]], dtype=np.float32)


def policy_space(policy: Policy) -> ActionSpace:
    """The action space a policy decides over (`Policy.space`, the contract's)."""
    return policy.space


class Engine:
    """Runs turns for any number of sessions; one instance per process."""

    def __init__(self, store: SessionStore, policy_for: Callable[[str], Policy],
                 backend_for: Callable[[str], Backend], observe: Observe | None = None,
                 settings: Settings | None = None, price_usd: Callable[[int, int], float] | None = None,
                 on_turn: Callable[[Session, TurnRecord], None] | None = None) -> None:
        self.store = store
        self.policy_for = policy_for
        self.backend_for = backend_for
        self.observe = observe or simple_observation
        self.settings = settings or get_settings()
        self.price_usd = price_usd
        self.speed = SpeedModel()
        self.on_turn = on_turn
        self._stops: dict[str, threading.Event] = {}
        self._stops_lock = threading.Lock()

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

    def run(self, session: Session, text: str | None, files: list[str] | None = None,
            max_new_tokens: int | None = None) -> Iterator[TurnEvent]:
        """Answer one turn; yields the decision first, then deltas, then the record."""
        text = (text or "").strip()
        record = TurnRecord(session.id, session.turn_index, text, policy=session.policy_name)
        problem = self._read_input(record, text, files or [])
        if problem:
            yield self._reject(session, record, problem)
            return

        policy = self.policy_for(session.policy_name)
        space = policy_space(policy)
        self._place_attachments(record, space)
        present = [i < len(record.slots) for i in range(space.slots)]
        try:
            observation = np.asarray(self.observe(session, record, space), dtype=np.float32)
        except Exception as exc:  # a feature bug must not end the session
            observation = simple_observation(session, record, space)
            record.error = f"observation fallback: {type(exc).__name__}"
        record.observation = [float(x) for x in observation.ravel()]

        actions = space.actions
        history_chars = sum(len(m.text) for m in session.history[-HISTORY_MESSAGES:])
        n_new = max_new_tokens or self.settings.max_new_tokens
        record.worst = [worst_case(a, record.slots, record.always, text, history_chars,
                                   self.settings, self.speed, self.price_usd) for a in actions]
        afford, record.masked = budget_mask(actions, record.worst, session.ledger)
        mask = space.mask_for(present) & afford

        if mask.any():
            decision = policy.decide(observation, mask.copy())
            if not mask[decision.action]:  # never trust a policy to respect the mask
                decision = _forced(space, mask, "the policy chose a masked action")
        else:
            local = [i for i, a in enumerate(actions) if a.location == "local"
                     and all(present[j] for j in a.attachments)]
            best_local = max(local, key=lambda i: len(actions[i].attachments)) if local else 0
            decision = Decision(best_local, "local", actions[best_local].attachments, 1.0,
                                reason="budget guard")
            record.fallback = ("The budget cannot pay the worst case of any action ("
                               + "; ".join(sorted(set(record.masked.values()))) +
                               "), so the local model answers.")
        record.decision = decision
        record.action = actions[decision.action]
        record.expected, record.expected_source = _expected(decision, record.worst)
        record.taken = decision.action
        record.decided_at = time.perf_counter()
        yield TurnEvent("decision", record)

        stop = threading.Event()
        with self._stops_lock:
            self._stops[session.id] = stop
        try:
            yield from self._answer(session, record, n_new, stop)
        finally:
            with self._stops_lock:
                if self._stops.get(session.id) is stop:
                    del self._stops[session.id]
        yield self._finish(session, record)

    # -- steps ---------------------------------------------------------------------------

    def _read_input(self, record: TurnRecord, text: str, files: list[str]) -> str:
        """Turn uploads into Attachments; return a message for the person if any is bad."""
        if not text and not files:
            return "Your message is empty. Type a question, or attach an image or audio file."
        limit_chars = self.settings.local_context_tokens * 3
        if len(text) > limit_chars:
            return (f"Your message is {len(text):,} characters long; the limit is "
                    f"{limit_chars:,}. Please shorten it.")
        max_bytes = int(self.settings.max_attachment_mb * 2**20)
        for path in files:
            try:
                att = Attachment.from_path(path, max_bytes=max_bytes)
                _check_readable(att)
            except UnreadableAttachment as exc:
                return exc.message + " Nothing was sent; please try again without it."
            (record.always if att.kind == "audio" else record.slots).append(att)
        return ""

    @staticmethod
    def _place_attachments(record: TurnRecord, space: ActionSpace) -> None:
        """Files to slots as the policy's space expects them (see the module docstring)."""
        if space.local_subsets:  # LCIO-Bench layout: images, then audio, each in a slot
            audio, record.always = record.always, []
            n_audio = min(len(audio), space.slots)
            n_images = space.slots - n_audio
            record.extra = record.slots[n_images:] + audio[n_audio:]
            record.slots = record.slots[:n_images] + audio[:n_audio]
            return
        record.extra = record.slots[space.slots:]
        record.slots = record.slots[:space.slots]

    def _request(self, session: Session, record: TurnRecord, n_new: int,
                 stop: threading.Event) -> ChatRequest:
        history = session.history[-HISTORY_MESSAGES:]
        message = Message("user", record.prompt or _attachment_prompt(record.used),
                          tuple(record.used))
        return ChatRequest(messages=[*history, message], max_new_tokens=n_new, stop=stop)

    def _answer(self, session: Session, record: TurnRecord, n_new: int,
                stop: threading.Event) -> Iterator[TurnEvent]:
        location = record.location
        wasted = 0.0
        if location == "cloud":
            started = time.perf_counter()
            try:
                yield from self._stream("cloud", session, record, n_new, stop)
                return
            except BackendError as exc:
                wasted = time.perf_counter() - started
                session.ledger.charge_cost(Cost(latency_s=wasted))
                record.fallback = f"The cloud failed ({exc.message}); the local model answers."
            except Exception as exc:  # an unexpected cloud bug must not end the session
                wasted = time.perf_counter() - started
                session.ledger.charge_cost(Cost(latency_s=wasted))
                record.fallback = (f"The cloud failed unexpectedly ({type(exc).__name__}); "
                                   "the local model answers.")
            record.answer = ""
            record.action = Action("local", record.action.attachments)
            record.taken = _local_index(self.policy_for(session.policy_name), record.action)
            yield TurnEvent("fallback", record)
        if stop.is_set():
            record.status = "cancelled"
            return
        try:
            yield from self._stream("local", session, record, n_new, stop)
        except BackendError as exc:
            record.status, record.error = "failed", exc.message
        except Exception as exc:
            record.status = "failed"
            log.exception("local turn failed")
            record.error = f"The local model failed ({type(exc).__name__}). Please try again."
        if record.actual is not None and wasted:
            record.actual = record.actual + Cost(latency_s=wasted)

    def _stream(self, location: str, session: Session, record: TurnRecord, n_new: int,
                stop: threading.Event) -> Iterator[TurnEvent]:
        backend = self.backend_for(location)
        request = self._request(session, record, n_new, stop)
        items = _local_stream(backend, request) if location == "local" else backend.stream(request)
        for item in items:
            if isinstance(item, Completion):
                record.completion = item
            elif item:
                record.answer += item
                yield TurnEvent("delta", record, item)
        completion = record.completion
        if completion is None:
            raise BackendError("The answer ended without its accounting.")
        record.actual = session.ledger.charge(completion)
        self.speed.observe(location, completion)
        record.answer = completion.text or record.answer
        record.status = "cancelled" if completion.finish_reason == "cancelled" else "answered"

    def _finish(self, session: Session, record: TurnRecord) -> TurnEvent:
        """Log the turn, extend the history (answered turns only) and notify listeners."""
        record.turn_id = self.store.log_turn(self._row(session, record))
        session.turn_ids.append(record.turn_id)
        session.past_actions.append(record.taken if record.taken is not None else 0)
        session.past_prompts.append(record.prompt)
        session.past_attachments.append(record.action.attachments if record.action else ())
        actual = record.actual or Cost()
        session.per_turn.append({"turn": record.turn_index + 1, "location": record.location,
                                 "cost_usd": actual.usd, "latency_s": actual.latency_s,
                                 "energy_j": actual.energy_j})
        if record.status in ("answered", "cancelled") and record.answer:
            session.history.append(Message("user", record.prompt or _attachment_prompt(record.used)))
            session.history.append(Message("assistant", record.answer))
        if self.on_turn:
            self.on_turn(session, record)
        return TurnEvent("done", record)

    def _reject(self, session: Session, record: TurnRecord, problem: str) -> TurnEvent:
        record.status, record.error = "rejected", problem
        record.turn_id = self.store.log_turn(self._row(session, record))
        return TurnEvent("rejected", record)

    def _row(self, session: Session, record: TurnRecord) -> dict[str, Any]:
        d, c, exp, act = record.decision, record.completion, record.expected, record.actual
        slot_of = {id(a): i for i, a in enumerate(record.slots)}
        return {
            "session_id": session.id, "turn_index": record.turn_index,
            "participant": session.participant, "condition": session.condition,
            "policy": record.policy, "prompt": record.prompt, "answer": record.answer,
            "status": record.status, "error": record.error,
            "action": d.action if d else None, "location": record.location or None,
            "attachments_present": [{"kind": a.kind, "sha256": a.sha256,
                                     "slot": slot_of.get(id(a))} for a in record.attachments],
            "attachments_used": [a.sha256 for a in record.used],
            "probability": d.probability if d else None,
            "decision": {"estimates": d.estimates, "multipliers": d.multipliers,
                         "reason": d.reason, "masked": {str(k): v for k, v in record.masked.items()},
                         "expected_source": record.expected_source} if d else None,
            "observation": record.observation, "fallback": record.fallback or None,
            "backend": c.backend if c else None, "model": c.model if c else None,
            "expected_latency_s": exp.latency_s if exp else None,
            "expected_cost_usd": exp.usd if exp else None,
            "ttft_s": c.ttft_s if c else None,
            "latency_s": act.latency_s if act else None,
            "cost_usd": act.usd if act else None, "energy_j": act.energy_j if act else None,
            "prompt_tokens": c.prompt_tokens if c else None,
            "completion_tokens": c.completion_tokens if c else None,
            "finish_reason": c.finish_reason if c else None,
            "budget_remaining": session.ledger.remaining_fractions(),
            "weights": session.weights.as_dict(),
        }


def _local_index(policy: Policy, action: Action) -> int:
    """Index of a local action in the policy's space (the plain local action if the space
    has no local subsets)."""
    actions = policy_space(policy).actions
    if action in actions:
        return actions.index(action)
    return actions.index(Action("local", ()))


def _forced(space: ActionSpace, mask: np.ndarray, reason: str) -> Decision:
    i = int(np.flatnonzero(mask)[0])
    a = space.actions[i]
    return Decision(i, a.location, a.attachments, 1.0, reason=reason)


ESTIMATE_KEYS = {"latency": ("latency_s", "latency"), "usd": ("cost_usd", "usd", "cost")}


def _expected(decision: Decision, worst: list[Cost]) -> tuple[Cost, str]:
    """The policy's own estimate for the chosen action where it gives one, else the guard's
    worst case (the card says which)."""
    est: Mapping[str, list[float]] = decision.estimates or {}

    def pick(keys: tuple[str, ...]) -> float | None:
        for k in keys:
            vals = est.get(k)
            if vals is not None and len(vals) > decision.action:
                return float(vals[decision.action])
        return None

    lat, usd = pick(ESTIMATE_KEYS["latency"]), pick(ESTIMATE_KEYS["usd"])
    w = worst[decision.action] if decision.action < len(worst) else Cost()
    if lat is None and usd is None:
        return w, "worst case"
    return Cost(usd=usd if usd is not None else w.usd,
                latency_s=lat if lat is not None else w.latency_s,
                energy_j=w.energy_j), "policy"


def _attachment_prompt(used: list[Attachment]) -> str:
    kinds = sorted({a.kind for a in used})
    if kinds == ["audio"]:
        return "Answer the question asked in the audio."
    return "Describe what is attached." if kinds else "Hello."


def _check_readable(att: Attachment) -> None:
    """Catch corrupt files at upload, before a backend spends time on them."""
    if att.kind == "image":
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(att.path) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise UnreadableAttachment(
                f"The image {att.path.name!r} could not be read (it may be corrupt).") from exc
    elif att.path.suffix.lower() == ".wav":
        with att.path.open("rb") as handle:
            head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise UnreadableAttachment(
                f"The audio {att.path.name!r} could not be read (it is not a valid WAV file).")
