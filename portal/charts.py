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

from portal.format import percent
from portal.i18n import gettext as _

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
    "bar": {"yaxis": {"tickformat": ",~g"}, "xaxis": {"type": "category", "tickangle": -45, "automargin": True}},
    "hbar": {"yaxis": {"autorange": "reversed", "automargin": True}, "xaxis": {"tickformat": ",~g"}},
    "grouped": {"barmode": "group", "showlegend": True, "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"},
                "xaxis": {"tickformat": ",~g"}, "yaxis": {"autorange": "reversed", "automargin": True},
                "margin_t": 40},
    "pie": {"showlegend": True, "legend": {"orientation": "h"}},
}


@functools.lru_cache(maxsize=256)
def _layout(kind: str, height: int) -> dict:
    """Shared between figures, so read-only: pages only serialise it."""
    return go.Layout(_BASE, height=height, **_KINDS[kind]).to_plotly_json()


#: (divisor, unit) a money axis is read in: the largest unit in which the biggest value is 1 or more.
_MONEY_UNITS = ((1e9, "billion baht"), (1e6, "million baht"), (1, "baht"))
#: what a source writes for "no value", shown in words on a chart
_UNSTATED = {None, "", "-", "–", "—"}


def _money(values: list, among: list | None = None) -> tuple[list, str]:
    """``values`` in the unit an axis of ``among`` (default: the values) reads best in (ล้านบาท,
    พันล้านบาท; never "3G"), and that unit's name."""
    top = max((abs(v) for v in (among or values) if v is not None), default=0)
    scale, unit = next((s, u) for s, u in _MONEY_UNITS if top >= s or s == 1)
    return [None if v is None else v / scale for v in values], _(unit)


def _labels(labels: list) -> list:
    return [_("not stated") if (label.strip() if isinstance(label, str) else label) in _UNSTATED else label
            for label in labels]


def _hover(fmt: str) -> str:
    """The exact amount in baht, whatever unit the axis is read in."""
    return "%{customdata:" + fmt + "} " + _("baht") + "<extra></extra>"


def _figure(traces: list, kind: str, height: int = 300, unit: str | None = None) -> dict:
    layout = _layout(kind, height)
    if unit:  # a shallow copy: the cached layout is shared between pages
        axis = "yaxis" if kind == "bar" else "xaxis"
        layout = {**layout, axis: {**layout[axis], "title": {"text": unit}}}
    return {"data": [trace.to_plotly_json() for trace in traces], "layout": layout}


def bar(x: list, y: list, *, name: str = "", horizontal: bool = False, color: str = ACCENT,
        hover: str = ",.0f") -> dict:
    """Amounts in baht by category; ``hover`` is the d3 format of the exact amount shown on hover."""
    scaled, unit = _money(y)
    x = _labels(x)
    if horizontal:
        trace = go.Bar(x=scaled, y=x, orientation="h", name=name, marker={"color": color}, customdata=y,
                       hovertemplate=_hover(hover))
        return _figure([trace], "hbar", max(200, 28 * len(x) + 40), unit)
    trace = go.Bar(x=x, y=scaled, name=name, marker={"color": color}, customdata=y, hovertemplate=_hover(hover))
    return _figure([trace], "bar", unit=unit)


def grouped(categories: list, series: list[tuple[str, list, str]]) -> dict:
    """Side-by-side horizontal bars (long Thai names read best on the axis), e.g. budget against spending."""
    every = [v for _name, values, _color in series for v in values]
    unit = _money(every)[1]
    categories = _labels(categories)
    return _figure([go.Bar(orientation="h", name=name, y=categories, x=_money(values, every)[0], customdata=values,
                           marker={"color": color}, hovertemplate=name + ": " + _hover(",.0f"))
                    for name, values, color in series],
                   "grouped", max(260, 44 * len(categories) + 80), unit)


def pie(labels: list, values: list) -> dict:
    """Shares written by the page's own rounding (``38%``, ``6.3%``, ``under 0.1%``), not plotly's."""
    total = sum(v for v in values if v)
    shares = [percent(v / total) if total and v else "" for v in values]
    return _figure([go.Pie(labels=_labels(labels), values=values, hole=0.45, sort=False, text=shares, textinfo="text",
                           hovertemplate="%{label}: %{value:,.0f} " + _("baht") + "<extra></extra>")], "pie", 340)
