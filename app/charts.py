"""Plotly figures: the three budget gauges and the per-turn cost/latency chart."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.session import RESOURCE_LABELS, RESOURCES, BudgetLedger

_FMT = {"usd": "$.4f", "latency_s": ".1f", "energy_j": ".0f"}
_PREFIX = {"usd": "$", "latency_s": "", "energy_j": ""}
_SUFFIX = {"usd": "", "latency_s": " s", "energy_j": " J"}


def budget_gauges(ledger: BudgetLedger) -> go.Figure:
    """One gauge per budget: the needle is what is left; the bar turns red below 20 %."""
    fig = go.Figure()
    fractions = ledger.remaining_fractions()
    for i, r in enumerate(RESOURCES):
        limit = getattr(ledger.limit, r)
        left = getattr(ledger.remaining, r)
        colour = "#2e7d32" if fractions[r] > 0.5 else "#f9a825" if fractions[r] > 0.2 else "#c62828"
        fig.add_trace(go.Indicator(
            mode="gauge+number+delta",
            value=left,
            delta={"reference": limit, "valueformat": _FMT[r].lstrip("$")},
            number={"prefix": _PREFIX[r], "suffix": _SUFFIX[r], "valueformat": _FMT[r].lstrip("$"),
                    "font": {"size": 18}},
            title={"text": f"{RESOURCE_LABELS[r]} left", "font": {"size": 12}},
            gauge={"axis": {"range": [0, max(limit, 1e-9)], "tickfont": {"size": 9}},
                   "bar": {"color": colour}},
            domain={"row": 0, "column": i},
        ))
    fig.update_layout(grid={"rows": 1, "columns": 3, "pattern": "independent"},
                      height=190, margin={"l": 25, "r": 25, "t": 40, "b": 10})
    return fig


def per_turn_chart(per_turn: Sequence[dict]) -> go.Figure:
    """Bars: cloud dollars per turn; line: waiting time per turn (right axis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    turns = [int(t["turn"]) for t in per_turn]
    colours = ["#1565c0" if t["location"] == "cloud" else "#6d4c41" for t in per_turn]
    fig.add_trace(go.Bar(x=turns, y=[t["cost_usd"] for t in per_turn], name="cost ($)",
                         marker_color=colours), secondary_y=False)
    fig.add_trace(go.Scatter(x=turns, y=[t["latency_s"] for t in per_turn], name="latency (s)",
                             mode="lines+markers", line={"color": "#ef6c00"}), secondary_y=True)
    fig.update_layout(height=200, margin={"l": 40, "r": 40, "t": 30, "b": 30},
                      title={"text": "Per turn (blue = cloud, brown = local)", "font": {"size": 12}},
                      legend={"orientation": "h", "y": -0.3, "font": {"size": 10}},
                      xaxis={"title": None, "dtick": 1})
    fig.update_yaxes(title_text="$", secondary_y=False)
    fig.update_yaxes(title_text="s", secondary_y=True)
    return fig


def learning_chart(points: Sequence[dict]) -> go.Figure:
    """How ratings moved the policy: reward per rating and the policy's preference for the
    cloud (its estimate of cloud minus local value) after each online update."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    xs = list(range(1, len(points) + 1))
    fig.add_trace(go.Bar(x=xs, y=[p.get("reward", 0.0) for p in points], name="reward from rating",
                         marker_color="#7e57c2"), secondary_y=False)
    fig.add_trace(go.Scatter(x=xs, y=[p.get("preference", 0.0) for p in points],
                             name="policy: cloud − local", mode="lines+markers",
                             line={"color": "#00897b"}), secondary_y=True)
    fig.update_layout(height=200, margin={"l": 40, "r": 40, "t": 30, "b": 30},
                      title={"text": "Online learning from your ratings", "font": {"size": 12}},
                      legend={"orientation": "h", "y": -0.3, "font": {"size": 10}})
    return fig
