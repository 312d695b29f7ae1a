"""The side card for the turn in progress (HTML) and the decision as plain data (`/chat`)."""

from __future__ import annotations

from html import escape
from typing import Any

from app.engine import TurnRecord
from app.explain import details_body, expected_vs_actual, source_label, why_sentence
from app.savings import savings_markdown
from app.session import Session

_CSS = """
<style>
#decision-card .lcio-card{border:1px solid var(--border-color-primary);border-radius:10px;
  padding:10px 12px;font-size:13px;line-height:1.45}
#decision-card .lcio-loc{display:inline-block;font-weight:700;padding:2px 10px;border-radius:12px;
  color:#fff;margin-right:6px}
#decision-card .loc-local{background:#6d4c41}#decision-card .loc-cloud{background:#1565c0}
#decision-card .loc-none{background:#9e9e9e}
#decision-card .lcio-fallback{background:rgba(239,108,0,.12);border-left:4px solid #ef6c00;
  border-radius:6px;padding:4px 8px;margin-top:6px}
#decision-card .lcio-why{margin:6px 0 2px;font-weight:500}
#decision-card details{margin-top:6px}
#decision-card .lcio-muted{color:var(--body-text-color-subdued)}
</style>
"""


def empty_card() -> str:
    return (_CSS + '<div class="lcio-card" data-turn="0" data-status="idle">'
            '<span class="lcio-loc loc-none">no turn yet</span>'
            '<div class="lcio-muted">Each turn, the policy picks local or cloud and the '
            'attachments to send; its decision shows here as soon as you submit.</div></div>')


def _usd(x: float | None) -> str:
    return "–" if x is None else f"${x:.5f}"


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def decision_card(record: TurnRecord, models: dict[str, str] | None = None,
                  session: Session | None = None, space_actions: list[Any] | None = None) -> str:
    """The turn in progress: where and why in words, expected vs actual, attachments used and
    left out, any fallback; internal quantities folded away under "details"."""
    models = models or {}
    if record.status == "rejected":
        return (_CSS + f'<div class="lcio-card" data-turn="{record.turn_index + 1}" '
                f'data-status="rejected"><span class="lcio-loc loc-none">not sent</span>'
                f'<div class="lcio-fallback">{escape(record.error)}</div></div>')
    # Every string below can come from a user, a file name, the policy or the endpoint: escaped.
    loc = escape(record.location or "none")
    d = record.decision
    status = escape(record.status if record.status != "pending" else "streaming")
    model = (record.completion.model if record.completion else models.get(loc, ""))
    why = why_sentence(record, session or Session(), space_actions or [])
    conf = ""
    forced = record.overrule.get("applied") and record.overrule.get("forced")
    if d and d.reason != "budget guard" and not forced:
        conf = (f"<div class='lcio-muted'>The policy picks this action with probability "
                f"{d.probability:.0%}.</div>")
    used = ", ".join(f"{a.kind} {a.path.name}" for a in record.used) or "text only"
    left = "<br>".join(f"{escape(a.kind)} {escape(a.path.name)} <span class='lcio-muted'>"
                       f"({escape(reason)})</span>" for a, reason in record.left_out) or "none"
    masked = (_ruled_out("Budget guard ruled out", record.masked)
              + _ruled_out("Not offered,", record.refused))
    # A fallback's reason leads the "why" (app/explain.py), highlighted: not repeated below.
    why_class = "lcio-why lcio-fallback" if record.fallback else "lcio-why"
    error = f"<div class='lcio-fallback'>{escape(record.error)}</div>" \
        if record.status == "failed" else ""
    details = details_body(record).replace("\n\n", "<br>")
    source = source_label(record.expected_source)
    return (
        _CSS + f'<div class="lcio-card" data-turn="{record.turn_index + 1}" data-location="{loc}" '
        f'data-status="{status}">'
        f'<span class="lcio-loc loc-{loc}">{loc.upper()}</span>'
        f'<b>turn {record.turn_index + 1}</b> <span class="lcio-muted">· {escape(status)} · '
        f'{escape(model)}</span>'
        f'<div class="{why_class}">{why}</div>{conf}'
        f'<div class="lcio-muted">{escape(expected_vs_actual(record, source))}</div>'
        f'<div><b>sent:</b> {escape(used)}</div><div><b>left out:</b> {left}</div>'
        f'{masked}{error}'
        f'<details><summary class="lcio-muted">details</summary>'
        f'<div class="lcio-muted">{details}</div></details></div>'
    )


def _ruled_out(label: str, reasons: dict[int, str]) -> str:
    """One muted line: how many options were ruled out, and the distinct reasons ("" if none)."""
    if not reasons:
        return ""
    return (f"<div class='lcio-muted'>{label} {len(reasons)} option(s): "
            f"{escape('; '.join(sorted(set(reasons.values()))))}</div>")


def decision_data(record: TurnRecord) -> dict[str, Any]:
    """The decision as JSON-able data: what scripts get back from `/chat`."""
    d, exp, act = record.decision, record.expected, record.actual
    return {
        "turn_id": record.turn_id, "turn": record.turn_index + 1, "status": record.status,
        "error": record.error or None, "policy": record.policy,
        "location": record.location or None, "action": d.action if d else None,
        "probability": d.probability if d else None,
        "attachments_used": [{"kind": a.kind, "sha256": a.sha256} for a in record.used],
        "attachments_left_out": [{"kind": a.kind, "sha256": a.sha256, "why": why}
                                 for a, why in record.left_out],
        "expected": {"latency_s": exp.latency_s, "cost_usd": exp.usd, "energy_j": exp.energy_j,
                     "source": record.expected_source,
                     **({"range": record.expected_range.as_dict()} if record.expected_range else {})}
        if exp else None,
        "actual": {"latency_s": act.latency_s, "cost_usd": act.usd, "energy_j": act.energy_j}
        if act else None,
        "ttft_s": record.completion.ttft_s if record.completion else None,
        "model": record.completion.model if record.completion else None,
        "fallback": record.fallback or None,
        "masked_by_budget": {str(k): v for k, v in record.masked.items()},
        "not_taken_by_backend": {str(k): v for k, v in record.refused.items()},
        "overruled": record.overrule or None,
    }


def totals_markdown(session: Session) -> str:
    spent, limit = session.ledger.spent, session.ledger.limit
    n_cloud = sum(1 for t in session.per_turn if t["location"] == "cloud")
    return (f"**Session {session.id}** · {len(session.per_turn)} turns "
            f"({n_cloud} cloud, {len(session.per_turn) - n_cloud} local) · "
            f"spent **${spent.usd:.4f}** of ${limit.usd:.4f} · "
            f"waited **{spent.latency_s:.1f} s** of {limit.latency_s:.0f} s · "
            f"used **{spent.energy_j:.0f} J** of {limit.energy_j:.0f} J"
            + (f"\n\n{saved}" if (saved := savings_markdown(session.per_turn)) else ""))
