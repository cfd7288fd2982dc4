"""Plotly figures built with ``plotly.graph_objects``: the page carries the data, ``charts.js`` draws it.

plotly validates every property, so a misspelt one fails here, not in the reader's browser. A
trace costs about 0.2 ms; a ``go.Layout`` five times that and a ``go.Figure`` adds its default
template, so each chart kind's layout is validated once per height and figures are assembled as
``Figure.to_plotly_json`` would give them, without the template (numbers in docs/scaling.md).
Properties are nested dicts: magic underscores (``marker_color``) are parsed on every call and
triple a trace's cost. Every chart is paired with a table in the template.
"""
from __future__ import annotations

import functools

import plotly.graph_objects as go

ACCENT = "#0b5cad"
WARN = "#b35900"
_BASE = go.Layout(
    margin={"l": 60, "r": 10, "t": 10, "b": 40},
    height=300,
    font={"family": "Sarabun, 'Noto Sans Thai', system-ui, sans-serif", "size": 13},
    paper_bgcolor="rgba(0,0,0,0)",
    plot_bgcolor="rgba(0,0,0,0)",
    separators=".,",
    showlegend=False,
)
_KINDS = {
    "bar": {"yaxis": {"tickformat": "~s"}, "xaxis": {"type": "category", "tickangle": -45, "automargin": True}},
    "hbar": {"yaxis": {"autorange": "reversed", "automargin": True}, "xaxis": {"tickformat": "~s"}},
    "grouped": {"barmode": "group", "showlegend": True, "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"},
                "xaxis": {"tickformat": "~s"}, "yaxis": {"autorange": "reversed", "automargin": True},
                "margin_t": 40},
    "pie": {"showlegend": True, "legend": {"orientation": "h"}},
}


@functools.lru_cache(maxsize=256)
def _layout(kind: str, height: int) -> dict:
    """Shared between figures, so read-only: pages only serialise it."""
    return go.Layout(_BASE, height=height, **_KINDS[kind]).to_plotly_json()


def _figure(traces: list, kind: str, height: int = 300) -> dict:
    return {"data": [trace.to_plotly_json() for trace in traces], "layout": _layout(kind, height)}


def bar(x: list, y: list, *, name: str = "", horizontal: bool = False, color: str = ACCENT,
        hover: str = "%{y:,.0f}") -> dict:
    if horizontal:
        trace = go.Bar(x=y, y=x, orientation="h", name=name, marker={"color": color},
                       hovertemplate=hover.replace("%{y", "%{x") + "<extra></extra>")
        return _figure([trace], "hbar", max(200, 28 * len(x) + 40))
    trace = go.Bar(x=x, y=y, name=name, marker={"color": color}, hovertemplate=hover + "<extra></extra>")
    return _figure([trace], "bar")


def grouped(categories: list, series: list[tuple[str, list, str]]) -> dict:
    """Side-by-side horizontal bars (long Thai names read best on the axis), e.g. budget against spending."""
    return _figure([go.Bar(orientation="h", name=name, y=categories, x=values, marker={"color": color},
                           hovertemplate=name + ": %{x:,.0f}<extra></extra>") for name, values, color in series],
                   "grouped", max(260, 44 * len(categories) + 80))


def pie(labels: list, values: list) -> dict:
    return _figure([go.Pie(labels=labels, values=values, hole=0.45, sort=False, textinfo="percent",
                           hovertemplate="%{label}: %{value:,.0f}<extra></extra>")], "pie", 340)
