"""The budget bars with their projection (HTML), and the Plotly per-turn and learning charts."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.explain import money
from app.session import RESOURCE_LABELS, BudgetLedger

_UNIT_TURNS = {"usd": "cloud turns", "latency_s": "turns", "energy_j": "local turns"}
WARN_TURNS = 2  # warn when the pace leaves this many turns or fewer
_BUDGET_CSS = """<style>
#gauges .lcio-budget{font-size:13px;line-height:1.35}
#gauges .lcio-row{margin:4px 0 8px}
#gauges .lcio-bar{height:8px;border-radius:4px;background:var(--background-fill-secondary);
  border:1px solid var(--border-color-primary);overflow:hidden}
#gauges .lcio-fill{height:100%}
#gauges .lcio-muted{color:var(--body-text-color-subdued);font-size:12px}
#gauges .lcio-warn{border-left:4px solid #ef6c00;background:rgba(239,108,0,.12);padding:4px 8px;
  border-radius:4px;margin:4px 0}
</style>"""


def _fmt(resource: str, value: float) -> str:
    if resource == "usd":
        return money(value)
    return f"{value:.1f} s" if resource == "latency_s" else f"{value:.0f} J"


def _pace(resource: str, per_turn: Sequence[dict]) -> float | None:
    """Mean spend per turn of the kind that spends this budget (None before any)."""
    key = {"usd": "cost_usd", "latency_s": "latency_s", "energy_j": "energy_j"}[resource]
    where = {"usd": "cloud", "energy_j": "local"}.get(resource)
    spent = [float(t[key]) for t in per_turn
             if (where is None or t["location"] == where) and float(t[key]) > 0]
    return sum(spent) / len(spent) if spent else None


def projection(resource: str, left: float, per_turn: Sequence[dict]) -> int | None:
    """How many more turns of that kind the budget pays for at this session's pace."""
    pace = _pace(resource, per_turn)
    return None if pace is None else int(left // pace)


def budget_warnings(ledger: BudgetLedger, per_turn: Sequence[dict],
                    cloud_worst_usd: float | None = None) -> list[str]:
    """Plain warnings, before a budget forces answers to stay local (or to be refused).

    The guard refuses the cloud once what is left cannot pay a cloud answer's worst case
    (`cloud_worst_usd`, from the last turn), which may come before the pace runs it out."""
    out = []
    left = ledger.remaining
    n_cloud = projection("usd", left.usd, per_turn)
    if cloud_worst_usd and cloud_worst_usd > 0:
        by_worst = int(left.usd // cloud_worst_usd)
        n_cloud = by_worst if n_cloud is None else min(n_cloud, by_worst)
    if ledger.limit.usd > 0 and (left.usd <= 1e-9 or n_cloud == 0):
        out.append("Cloud budget spent: answers now stay local.")
    elif n_cloud is not None and n_cloud <= WARN_TURNS:
        out.append(f"Cloud budget nearly spent: after about {n_cloud} more cloud "
                   f"turn{'s' if n_cloud != 1 else ''}, answers will have to stay local.")
    for r in ("latency_s", "energy_j"):
        n = projection(r, getattr(left, r), per_turn)
        if n is not None and n <= WARN_TURNS:
            out.append(f"{RESOURCE_LABELS[r]} nearly spent: about {n} more {_UNIT_TURNS[r]} at this pace.")
    return out


def budget_gauges(ledger: BudgetLedger, per_turn: Sequence[dict] = (),
                  cloud_worst_usd: float | None = None) -> str:
    """Spent and left for each budget as a bar, the pace projection, and any warning (HTML)."""
    fractions = ledger.remaining_fractions()
    rows = []
    for r in RESOURCE_LABELS:  # the order people read
        limit, spent, left = (getattr(x, r) for x in (ledger.limit, ledger.spent, ledger.remaining))
        used = 0.0 if limit <= 0 else min(1.0, spent / limit)
        colour = "#2e7d32" if fractions[r] > 0.5 else "#f9a825" if fractions[r] > 0.2 else "#c62828"
        n = projection(r, left, per_turn)
        pace = (f"at this pace: about {n} more {_UNIT_TURNS[r]}" if n is not None
                else f"no {_UNIT_TURNS[r]} yet")
        rows.append(
            f'<div class="lcio-row" data-resource="{r}" data-spent="{spent:.6f}" data-left="{left:.6f}">'
            f"<b>{RESOURCE_LABELS[r]}</b>: spent {_fmt(r, spent)} · <b>left {_fmt(r, left)}</b> "
            f"of {_fmt(r, limit)}"
            f'<div class="lcio-bar"><div class="lcio-fill" style="width:{used * 100:.1f}%;'
            f'background:{colour}"></div></div><div class="lcio-muted">{pace}</div></div>')
    warnings = budget_warnings(ledger, per_turn, cloud_worst_usd)
    warns = "".join(f'<div class="lcio-warn">⚠️ {w}</div>' for w in warnings)
    return f'{_BUDGET_CSS}<div class="lcio-budget">{warns}{"".join(rows)}</div>'


# Readable on Gradio's light and dark themes alike.
_TRANSPARENT = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                "font": {"color": "#8a8f98"}}


def per_turn_chart(per_turn: Sequence[dict]) -> go.Figure:
    """Bars: cloud dollars per turn; line: waiting time per turn (right axis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    turns = [int(t["turn"]) for t in per_turn]
    colours = ["#1565c0" if t["location"] == "cloud" else "#6d4c41" for t in per_turn]
    fig.add_trace(go.Bar(x=turns, y=[t["cost_usd"] for t in per_turn], name="cost ($)",
                         marker_color=colours), secondary_y=False)
    fig.add_trace(go.Scatter(x=turns, y=[t["latency_s"] for t in per_turn], name="latency (s)",
                             mode="lines+markers", line={"color": "#ef6c00"}), secondary_y=True)
    fig.update_layout(**_TRANSPARENT, height=200, margin={"l": 40, "r": 40, "t": 30, "b": 30},
                      title={"text": "Per turn (blue = cloud, brown = local)", "font": {"size": 12}},
                      legend={"orientation": "h", "y": -0.3, "font": {"size": 10}},
                      xaxis={"title": None, "dtick": 1})
    fig.update_yaxes(title_text="$", secondary_y=False)
    fig.update_yaxes(title_text="s", secondary_y=True)
    return fig


def learning_chart(points: Sequence[dict]) -> go.Figure:
    """How ratings moved the policy for this session: each rating (0–2) and, after it, the
    session's estimate for the rated choice on the same scale (`app/online.py`)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    xs = list(range(1, len(points) + 1))
    fig.add_trace(go.Bar(x=xs, y=[p.get("reward", 0.0) for p in points], name="reward from rating",
                         marker_color="#7e57c2"), secondary_y=False)
    fig.add_trace(go.Scatter(x=xs, y=[p.get("preference", 0.0) for p in points],
                             name="your estimate for that choice", mode="lines+markers",
                             line={"color": "#00897b"}), secondary_y=True)
    fig.update_layout(**_TRANSPARENT, height=200, margin={"l": 40, "r": 40, "t": 30, "b": 30},
                      title={"text": "Online learning from your ratings", "font": {"size": 12}},
                      legend={"orientation": "h", "y": -0.3, "font": {"size": 10}})
    return fig
