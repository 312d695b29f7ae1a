"""A turn's decision in words: the chat's collapsible panel (title, why, expected vs actual,
what was left out) and the sentence the side card leads with.

Built from what the engine recorded: the policy's per-action estimates (quality, latency,
dollars) where it gives them, the task the observation carries (the bench policy's task
classifier), the budget guard's mask and any fallback or overrule. Internal quantities
(raw scores, the policy's note) go to a nested "details" panel, never the main text.
Everything a person or a model wrote (file names, errors) is HTML-escaped.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from app.engine import TurnRecord
from app.session import Session

ICON = {"cloud": "☁", "local": "⌂"}  # glyphs every font has (no emoji font needed)
TASK_WORDS = {
    "image_qa": "answering a question about a picture", "ocr": "reading text or numbers from an image",
    "speech": "understanding a spoken question", "factual": "a factual question",
    "summarise": "summarising", "rewrite": "rewriting text", "recommend": "a recommendation",
    "arithmetic": "arithmetic",
}
CLEAR_GAP = 0.05  # quality estimates closer than this count as "about the same"


def escape(text: str) -> str:
    """HTML-escaped and with no Markdown image opener: these strings go both into the card
    (HTML) and into chat panels (Markdown), where `![](url)` would make the browser fetch."""
    return html.escape(text).replace("![", "!&#91;")


def money(x: float) -> str:
    """Dollars with enough digits that a stand-in's fractions of a cent do not read as $0."""
    return f"${x:.6f}" if 0 < x < 0.0001 else f"${x:.4f}"


def task_name(record: TurnRecord) -> str | None:
    """The bench task the observation carries (its one-hot head), if it has that layout."""
    try:
        from policies.bench.tasks import TASKS
        from policies.bench_policy import TASK
    except ImportError:
        return None
    obs = np.asarray(record.observation, dtype=np.float64)
    head = obs[TASK] if obs.size >= TASK.stop else np.zeros(0)
    if head.size != len(TASKS) or head.max(initial=0.0) <= 0:
        return None
    return TASKS[int(np.argmax(head))]


def _est(record: TurnRecord, key: str, index: int) -> float | None:
    values = (record.decision.estimates or {}).get(key) if record.decision else None
    return float(values[index]) if values is not None and len(values) > index else None


def _alternative(record: TurnRecord, space_actions: list[Any]) -> int | None:
    """The other location's action with the same attachments (else its best estimate)."""
    if record.action is None or not space_actions:
        return None
    other = "local" if record.location == "cloud" else "cloud"
    same = [i for i, a in enumerate(space_actions)
            if a.location == other and a.attachments == record.action.attachments]
    if same:
        return same[0]
    there = [i for i, a in enumerate(space_actions) if a.location == other]
    return max(there, key=lambda i: _est(record, "quality", i) or 0.0) if there else None


def attachments_phrase(record: TurnRecord) -> str:
    kinds = sorted({a.kind for a in record.used})
    return " + ".join(kinds) if kinds else "text only"


def why_sentence(record: TurnRecord, session: Session, space_actions: list[Any]) -> str:
    """One or two plain sentences: where, because what, at what cost of what is left."""
    if record.status == "rejected":
        return f"Not sent: {escape(record.error)}"
    loc = record.location or "local"
    where = loc.capitalize()
    over = record.overrule
    if record.fallback:  # what ran is not what was chosen: the reason why comes first
        head = _fallback_reason(record)
    elif over.get("forced") and over.get("applied") and over.get("policy_location") != loc:
        head = (f"{where}, because you chose it (the policy would have answered "
                f"{'in the cloud' if over['policy_location'] == 'cloud' else 'locally'}).")
    elif record.decision and record.decision.reason == "budget guard":
        head = f"{where}, because the budget cannot pay for any cloud answer now."
    else:
        head = _policy_reason(record, loc, space_actions)
    return f"{head} {_cost_phrase(record, session, loc)}".strip()


def _fallback_reason(record: TurnRecord) -> str:
    """The fallback's own reason, then who had chosen the cloud (the person or the policy)."""
    chooser = "you" if record.overrule.get("forced") == "cloud" else f"the policy “{escape(record.policy)}”"
    return (f"{(record.location or 'local').capitalize()}, as a fallback: "
            f"{escape(record.fallback)} (The cloud had been chosen by {chooser}.)")


def _policy_reason(record: TurnRecord, loc: str, space_actions: list[Any]) -> str:
    where = loc.capitalize()
    task = task_name(record)
    about = f"this looks like {TASK_WORDS.get(task, task)}, where" if task else "for this message"
    d = record.decision
    alt = _alternative(record, space_actions)
    q = _est(record, "quality", d.action) if d else None
    q_alt = _est(record, "quality", alt) if d and alt is not None else None
    if q is None or q_alt is None:
        why = escape(d.reason if d else "")
        return f"{where}, because the policy “{escape(record.policy)}” decides so ({why})."
    gap = q - q_alt
    if loc == "cloud":
        if gap > CLEAR_GAP:
            return (f"Cloud, because {about} the stronger model helps: local was expected "
                    f"to score ~{gap:.2f} lower (quality {q_alt:.2f} vs {q:.2f} on a 0–1 scale).")
        return (f"Cloud: {about} both were expected to score about the same "
                f"({q:.2f} on a 0–1 scale); the policy judged the cloud worth its cost and wait.")
    if alt is not None and alt in record.masked:
        return (f"Local, because the budget guard ruled out the cloud ({escape(record.masked[alt])}).")
    if alt is not None and alt in record.refused:
        return f"Local, because {escape(record.refused[alt])}."
    if gap >= -CLEAR_GAP:
        lat, lat_alt = _est(record, "latency_s", d.action), _est(record, "latency_s", alt)
        sooner = (f" and sooner (~{lat:.1f} s vs {lat_alt:.1f} s)"
                  if lat is not None and lat_alt is not None and lat < lat_alt else "")
        return (f"Local, because {about} the local model was expected to do about as well "
                f"(quality {q:.2f} vs {q_alt:.2f} in the cloud){sooner}, at no cloud cost.")
    return (f"Local, to spare the budget: {about} the cloud was expected to score "
            f"~{-gap:.2f} higher, but not by enough for its cost and wait.")


def _cost_phrase(record: TurnRecord, session: Session, loc: str) -> str:
    left = session.ledger.remaining
    act, exp = record.actual, record.expected
    if loc == "cloud":
        usd = act.usd if act is not None else (exp.usd if exp else None)
        if usd is None:
            return ""
        verb = "It cost" if act is not None else "It is expected to cost"
        before = left.usd + (act.usd if act is not None else 0.0)
        return f"{verb} {money(usd)} of the {money(before)} left in your cloud budget."
    energy = act.energy_j if act is not None else (exp.energy_j if exp else None)
    if energy is None:
        return ""
    before = left.energy_j + (act.energy_j if act is not None else 0.0)
    verb = "It used" if act is not None else "It may use up to"
    return f"{verb} {energy:.0f} J of the {before:.0f} J of local energy left, and no cloud dollars."


def source_label(source: str, worst: str = "worst case") -> str:
    """Where the expected figures come from, in words."""
    return {"predicted": "predicted from this turn", "policy": "policy's estimate"}.get(source, worst)


def expected_vs_actual(record: TurnRecord, label: str = "") -> str:
    """ "Expected 1.5 s, $0.0000, 45 J → actual 28.7 s, $0.0000, 148 J" """
    exp, act = record.expected, record.actual
    if exp is None:
        return ""
    head = f"Expected ({label})" if label else "Expected"
    band = record.expected_range
    if band is None:
        text = f"{head}: {exp.latency_s:.1f} s, {money(exp.usd)}, {exp.energy_j:.0f} J"
    else:  # "4.1 s (80 %: 2.9–6.0)": the interval the predictor's recent misses give
        share = f"{band.level:.0%}".replace("%", " %")
        text = (f"{head}: {exp.latency_s:.1f} s ({share}: {band.low.latency_s:.1f}–"
                f"{band.high.latency_s:.1f}), ")
        text += (f"{money(exp.usd)} ({share}: {money(band.low.usd)}–{money(band.high.usd)})"
                 if record.location == "cloud" else f"{exp.energy_j:.0f} J ({share}: "
                 f"{band.low.energy_j:.0f}–{band.high.energy_j:.0f})")
    if act is not None:
        text += f" → actual: {act.latency_s:.1f} s, {money(act.usd)}, {act.energy_j:.0f} J"
    return text + "."


def panel_title(record: TurnRecord) -> str:
    """ "☁ cloud · image + audio · $0.0005 · 4.9 s" (expected figures while it streams)."""
    loc = record.location or "local"
    over = record.overrule
    mark = " (your choice)" if over.get("applied") and over.get("forced") == loc else ""
    parts = [f"{ICON.get(loc, '')} {loc}{mark}", attachments_phrase(record)]
    act = record.actual
    if act is None:
        parts.append("answering…")
    else:
        parts.append(money(act.usd) if loc == "cloud" else f"{act.energy_j:.0f} J")
        parts.append(f"{act.latency_s:.1f} s")
    if record.fallback:
        parts.append("fallback")
    return " · ".join(parts)


def panel_body(record: TurnRecord, session: Session, space_actions: list[Any]) -> str:
    """Markdown for the opened panel: why, confidence, expected vs actual, sent and left out."""
    lines = [why_sentence(record, session, space_actions)]
    d = record.decision
    over = record.overrule
    if d and d.reason != "budget guard" and not (over.get("applied") and over.get("forced")):
        lines.append(f"Confidence: the policy picks this action with probability {d.probability:.0%}.")
    if record.expected is not None:
        label = source_label(record.expected_source, "worst case the guard allows")
        lines.append(expected_vs_actual(record, label))
    sent = ", ".join(f"{escape(a.path.name)} ({a.kind})" for a in record.used)
    lines.append(f"Sent: {sent}." if sent else "Sent: the text only.")
    left = "; ".join(f"{escape(a.path.name)} — {escape(why)}" for a, why in record.left_out)
    if left:
        lines.append(f"Left out: {left}.")
    if record.masked:
        lines.append(f"The budget guard ruled out {len(record.masked)} option(s): "
                     f"{escape('; '.join(sorted(set(record.masked.values()))))}.")
    if record.refused:
        lines.append(f"Not offered, as a model does not take the file, {len(record.refused)} option(s): "
                     f"{escape('; '.join(sorted(set(record.refused.values()))))}.")
    if over.get("note"):
        lines.append(f"Your choice: {escape(over['note'])}.")
    if record.status == "failed":
        lines.append(f"⚠️ {escape(record.error)}")
    model = record.completion.model if record.completion else ""
    if model:
        lines.append(f"Answered by {escape(model)}.")
    return "\n\n".join(lines)


def details_body(record: TurnRecord) -> str:
    """The internal quantities, for the curious: estimates, the policy's note. (The bench
    planner's budget prices show in its note and the price estimate; its multipliers stay in the
    log, not on the page.)"""
    d = record.decision
    if d is None:
        return "No decision."
    rows = [f"policy: {escape(record.policy)} · action index {d.action}"]
    task = task_name(record)
    if task:
        rows.append(f"task class: {escape(task)}")
    for key in ("quality", "reward", "price"):
        v = _est(record, key, d.action)
        if v is not None:
            rows.append(f"{key} estimate for this action: {v:.3f}")
    if d.reason:
        rows.append(f"policy note: {escape(d.reason)}")
    return "\n\n".join(rows)


def decision_messages(record: TurnRecord, session: Session, space_actions: list[Any]
                      ) -> list[dict[str, Any]]:
    """The chat's decision panel and its nested details panel (Gradio message metadata)."""
    pid = f"turn-{session.id}-{record.turn_index + 1}"
    done = record.actual is not None or record.status not in ("pending",)
    meta: dict[str, Any] = {"title": panel_title(record), "id": pid,
                            "status": "done" if done else "pending"}
    return [{"role": "assistant", "content": panel_body(record, session, space_actions),
             "metadata": meta},
            {"role": "assistant", "content": details_body(record),
             "metadata": {"title": "Details (internal quantities)", "parent_id": pid,
                          "status": "done"}}]
