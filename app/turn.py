"""One turn as a record: what the decision card, the log and a study read, the log's row,
and the person's overrule applied to the policy's decision."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from app.intake import clean_text
from app.predict import Prediction
from app.savings import turn_columns
from app.session import Cost, Session
from backends.types import Attachment, Completion
from policies.base import Action, ActionSpace, Decision, Location, Preferences

EventKind = Literal["decision", "delta", "fallback", "done", "rejected"]
REJECTED_PROMPT_CHARS = 1_000  # a refused prompt is logged only this far (a 5 MB paste is not kept)
BUDGET_IN_USE = ("Another turn of this session is using what is left of the budget. Nothing was "
                 "sent; please try again when it has finished.")


def budget_cannot_pay(reasons: set[str]) -> str:
    """Why a turn is refused when no action's worst case fits what the budgets have left."""
    return (f"The session's budget cannot pay for any answer to this turn ({'; '.join(sorted(reasons))}). "
            "Nothing was sent. Start a new session with a larger budget, or send less (shorter "
            "audio, fewer or smaller images).")


def no_backend_takes(reasons: set[str]) -> str:
    """Why a turn is refused when every action would send a backend a file it does not take."""
    return (f"No model here takes this turn's files ({'; '.join(sorted(reasons))}). Nothing was "
            "sent; remove them or send the words alone.")


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
    refused: dict[int, str] = field(default_factory=dict)  # action -> the file its backend does not take
    worst: list[Cost] = field(default_factory=list)
    decision: Decision | None = None
    action: Action | None = None
    expected: Cost | None = None
    expected_source: str = ""
    expected_range: Prediction | None = None  # the predictor's interval around `expected`
    fallback: str = ""
    completion: Completion | None = None
    actual: Cost | None = None
    answer: str = ""
    status: str = "pending"  # answered | cancelled | rejected | failed
    error: str = ""
    turn_id: int | None = None
    taken: int | None = None  # index of the action actually taken (after any fallback)
    held: Cost = field(default_factory=Cost)  # worst case reserved in the ledger while running
    submitted_at: float = field(default_factory=time.perf_counter)
    decided_at: float | None = None
    decide_ms: tuple[float, float] = (0.0, 0.0)  # the policy's decision: wall clock, thread CPU
    # Context switches of the deciding thread during the decision: (voluntary, involuntary).
    decide_switches: tuple[int, int] = (0, 0)
    overrule: dict[str, Any] = field(default_factory=dict)  # what the person forced, if anything
    preferences: Preferences | None = None  # the weights and rating offsets it was decided with
    # Always-cloud's and always-local's action on this turn and its estimate (app/savings.py).
    alternatives: dict[str, tuple[int, Cost]] = field(default_factory=dict)

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
        dropped = set(self.overrule.get("dropped_slots", ()))
        out = [(a, "you chose not to send it" if i in dropped else "the policy left it out")
               for i, a in enumerate(self.slots) if i not in chosen]
        out += [(a, "more attachments than the policy's slots") for a in self.extra]
        return out

    @property
    def location(self) -> str:
        return self.action.location if self.action else ""


@dataclass(frozen=True)
class Overrule:
    """The person's say before sending: where to answer, and files (by path) not to send.

    Dropped files count as absent for the mask; the location is applied after the policy
    decides, among the actions the budget guard allows (else the policy's choice stands)."""

    location: Location | None = None
    drop: frozenset[str] = frozenset()  # paths of the files not to send (names may repeat)


@dataclass
class TurnEvent:
    kind: EventKind
    record: TurnRecord
    text: str = ""


def logged_prompt(record: TurnRecord) -> str:
    """The prompt as stored: a refused one only up to `REJECTED_PROMPT_CHARS`."""
    prompt = record.prompt
    if record.status == "rejected" and len(prompt) > REJECTED_PROMPT_CHARS:
        return (prompt[:REJECTED_PROMPT_CHARS]
                + f" […cut: the message had {len(prompt):,} characters and was refused]")
    return prompt


def log_row(session: Session, record: TurnRecord) -> dict[str, Any]:
    """The log's row for a finished (or refused) turn: what `SessionStore.log_turn` stores."""
    d, c, exp, act = record.decision, record.completion, record.expected, record.actual
    slot_of = {id(a): i for i, a in enumerate(record.slots)}
    return {
        "session_id": session.id, "turn_index": record.turn_index,
        "participant": session.participant, "condition": session.condition,
        "policy": record.policy, "prompt": clean_text(logged_prompt(record)),
        "answer": clean_text(record.answer),
        "status": record.status, "error": clean_text(record.error),
        "action": d.action if d else None, "location": record.location or None,
        "attachments_present": [{"kind": a.kind, "sha256": a.sha256,
                                 "slot": slot_of.get(id(a))} for a in record.attachments],
        "attachments_used": [a.sha256 for a in record.used],
        "probability": d.probability if d else None,
        "decision": {"estimates": d.estimates, "multipliers": d.multipliers,
                     "decide_ms": record.decide_ms[0], "decide_cpu_ms": record.decide_ms[1],
                     "decide_switches": list(record.decide_switches),
                     "reason": d.reason, "masked": {str(k): v for k, v in record.masked.items()},
                     **({"not_taken": {str(k): v for k, v in record.refused.items()}}
                        if record.refused else {}),
                     "expected_source": record.expected_source,
                     **({"expected_range": record.expected_range.as_dict()}
                        if record.expected_range else {}),
                     **({"overruled": record.overrule} if record.overrule else {}),
                     **({"alternatives": _alternatives(record)} if record.alternatives else {}),
                     **({"rating_offsets": record.preferences.quality_offsets}
                        if record.preferences is not None
                        and record.preferences.quality_offsets is not None else {})}
        if d else None,
        "observation": record.observation, "fallback": clean_text(record.fallback) or None,
        "backend": c.backend if c else None, "model": c.model if c else None,
        "expected_latency_s": exp.latency_s if exp else None,
        "expected_cost_usd": exp.usd if exp else None,
        "ttft_s": c.ttft_s if c else None,
        "latency_s": act.latency_s if act else None,
        "cost_usd": act.usd if act else None, "energy_j": act.energy_j if act else None,
        "prompt_tokens": c.prompt_tokens if c else None,
        "completion_tokens": c.completion_tokens if c else None,
        "finish_reason": c.finish_reason if c else None,
        "usage_estimated": c.usage_estimated if c else None,
        "budget_remaining": session.ledger.remaining_fractions(),
        "weights": session.weights.as_dict(),
    }


def _alternatives(record: TurnRecord) -> dict[str, float]:
    return turn_columns(record.alternatives, record.taken, record.actual)


def per_turn_row(record: TurnRecord) -> dict[str, float | str]:
    """A finished turn's figures for the session's per-turn table (charts, budgets, savings):
    what it spent and what always-cloud and always-local would have (`app.savings`)."""
    actual = record.actual or Cost()
    return {"turn": record.turn_index + 1, "location": record.location, "cost_usd": actual.usd,
            "latency_s": actual.latency_s, "energy_j": actual.energy_j, **_alternatives(record)}


def forced_decision(space: ActionSpace, mask: np.ndarray, reason: str) -> Decision:
    """The first allowed action, when the policy's own choice cannot stand."""
    i = int(np.flatnonzero(mask)[0])
    a = space.actions[i]
    return Decision(i, a.location, a.attachments, 1.0, reason=reason)


def overrule_note(record: TurnRecord, decision: Decision, overrule: Overrule, applied: bool,
                   note: str = "") -> dict[str, Any]:
    dropped = sorted(a.path.name for a in record.slots if str(a.path) in overrule.drop)
    slots = [i for i, a in enumerate(record.slots) if str(a.path) in overrule.drop]
    return {"policy_action": decision.action, "policy_location": decision.location,
            "forced": overrule.location, "dropped": dropped, "dropped_slots": slots,
            "applied": applied, "note": note}


def apply_overrule(record: TurnRecord, space: ActionSpace, mask: np.ndarray, decision: Decision,
                    overrule: Overrule) -> Decision:
    """The person's forced location, among the allowed actions closest to the policy's
    attachments; if the budget guard allows none there, the policy's choice stands."""
    record.overrule = overrule_note(record, decision, overrule, applied=False)
    record.overrule["applied"] = bool(record.overrule["dropped"])
    if overrule.location is None or overrule.location == decision.location:
        return decision
    wanted = set(decision.attachments)
    there = [i for i in np.flatnonzero(mask) if space.actions[i].location == overrule.location]
    if not there:
        why = "; ".join(sorted({record.masked[i] for i in record.masked
                                if space.actions[i].location == overrule.location})) or "not allowed"
        record.overrule["note"] = f"{overrule.location} is not possible this turn ({why})"
        return decision
    best = max(there, key=lambda i: (len(wanted & set(space.actions[i].attachments)),
                                     -len(wanted ^ set(space.actions[i].attachments))))
    a = space.actions[best]
    record.overrule["applied"] = True
    return Decision(int(best), a.location, a.attachments, 1.0, decision.estimates,
                    decision.multipliers, f"you chose {a.location}; the policy chose "
                    f"{decision.location} ({decision.reason})")
