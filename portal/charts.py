"""Plotly figures as plain JSON-able dicts: the page carries the data, ``charts.js`` draws it.

Built as dicts rather than ``plotly.graph_objects`` (same JSON, without validating every
figure on every request). Every chart is paired with a table in the template.
"""
from __future__ import annotations

ACCENT = "#0b5cad"
WARN = "#b35900"
_LAYOUT = {
    "margin": {"l": 60, "r": 10, "t": 10, "b": 40},
    "height": 300,
    "font": {"family": "Sarabun, 'Noto Sans Thai', system-ui, sans-serif", "size": 13},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "separators": ".,",
    "showlegend": False,
}


def bar(x: list, y: list, *, name: str = "", horizontal: bool = False, color: str = ACCENT,
        hover: str = "%{y:,.0f}") -> dict:
    trace = {"type": "bar", "name": name, "marker": {"color": color}}
    if horizontal:
        trace.update(x=y, y=x, orientation="h", hovertemplate=hover.replace("%{y", "%{x") + "<extra></extra>")
        layout = dict(_LAYOUT, height=max(200, 28 * len(x) + 40),
                      yaxis={"autorange": "reversed", "automargin": True}, xaxis={"tickformat": "~s"})
    else:
        trace.update(x=x, y=y, hovertemplate=hover + "<extra></extra>")
        layout = dict(_LAYOUT, yaxis={"tickformat": "~s"},
                      xaxis={"type": "category", "tickangle": -45, "automargin": True})
    return {"data": [trace], "layout": layout}


def grouped(categories: list, series: list[tuple[str, list, str]]) -> dict:
    """Side-by-side horizontal bars (long Thai names read best on the axis), e.g. budget against spending."""
    traces = [{"type": "bar", "orientation": "h", "name": name, "y": categories, "x": values,
               "marker": {"color": color}, "hovertemplate": name + ": %{x:,.0f}<extra></extra>"}
              for name, values, color in series]
    layout = dict(_LAYOUT, barmode="group", showlegend=True, legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
                  xaxis={"tickformat": "~s"}, yaxis={"autorange": "reversed", "automargin": True},
                  height=max(260, 44 * len(categories) + 80), margin=dict(_LAYOUT["margin"], t=40))
    return {"data": traces, "layout": layout}


def pie(labels: list, values: list) -> dict:
    trace = {"type": "pie", "labels": labels, "values": values, "hole": 0.45, "sort": False,
             "textinfo": "percent", "hovertemplate": "%{label}: %{value:,.0f}<extra></extra>"}
    return {"data": [trace], "layout": dict(_LAYOUT, showlegend=True, legend={"orientation": "h"}, height=340)}
