"""A supplier's co-bidding network: who bids with whom, up to two hops, and who wins when they meet."""
from __future__ import annotations

import math

import plotly.graph_objects as go
from flask import Blueprint, abort, render_template

from portal import charts
from portal.cache import cached_page
from portal.db import get_db

bp = Blueprint("network", __name__)
#: Edges shown per hop: a page a reader can take in, not the whole market.
FIRST_HOP, SECOND_HOP = 12, 24


def has_table(db, name: str) -> bool:
    """A database built before the table existed still serves its other pages."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


def edges_of(db, suppliers: list[str], limit: int, exclude=()) -> list[dict]:
    marks = ", ".join("?" * len(suppliers))
    rows = db.execute(f"""
        SELECT * FROM cobid_edges WHERE supplier_a IN ({marks}) OR supplier_b IN ({marks})
        ORDER BY together DESC, supplier_a, supplier_b""", suppliers * 2).fetchall()
    out, seen = [], set(exclude)
    for r in rows:
        key = (r["supplier_a"], r["supplier_b"])
        if key not in seen:
            seen.add(key)
            out.append(dict(r))
        if len(out) >= limit:
            break
    return out


def _figure(centre: str, first: list[str], second: list[str], edges: list[dict], names: dict) -> dict:
    """Centre, first hop on an inner ring, second hop on an outer one; line width = meetings."""
    place = {centre: (0.0, 0.0)}
    for ring, radius in ((first, 1.0), (second, 2.0)):
        for k, node in enumerate(ring):
            angle = 2 * math.pi * k / max(len(ring), 1)
            place[node] = (radius * math.cos(angle), radius * math.sin(angle))
    traces = [go.Scatter(x=[place[e["supplier_a"]][0], place[e["supplier_b"]][0]],
                         y=[place[e["supplier_a"]][1], place[e["supplier_b"]][1]], mode="lines",
                         line={"width": min(1 + e["together"] / 2, 8), "color": "#999"}, hoverinfo="skip")
              for e in edges if e["supplier_a"] in place and e["supplier_b"] in place]
    nodes = list(place)
    traces.append(go.Scatter(x=[place[n][0] for n in nodes], y=[place[n][1] for n in nodes], mode="markers+text",
                             text=[names.get(n) or n for n in nodes], textposition="top center",
                             marker={"size": [18] + [12] * (len(nodes) - 1),
                                     "color": [charts.WARN] + [charts.ACCENT] * (len(nodes) - 1)},
                             hovertemplate="%{text}<extra></extra>"))
    hidden = {"visible": False}
    layout = go.Layout(height=480, showlegend=False, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                       xaxis=hidden, yaxis=hidden, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return {"data": [t.to_plotly_json() for t in traces], "layout": layout.to_plotly_json()}


@bp.route("/network/<path:supplier_id>")
@cached_page
def show(supplier_id):
    db = get_db()
    supplier = db.execute("SELECT * FROM suppliers WHERE id = ?", [supplier_id]).fetchone()
    if supplier is None or not has_table(db, "cobid_edges"):
        abort(404)
    first = edges_of(db, [supplier_id], FIRST_HOP)
    neighbours = [e["supplier_b"] if e["supplier_a"] == supplier_id else e["supplier_a"] for e in first]
    second = edges_of(db, neighbours, SECOND_HOP, exclude=[(e["supplier_a"], e["supplier_b"]) for e in first]) \
        if neighbours else []
    outer = []
    for e in second:
        for node in (e["supplier_a"], e["supplier_b"]):
            if node != supplier_id and node not in neighbours and node not in outer:
                outer.append(node)
    everyone = [supplier_id, *neighbours, *outer]
    names = dict(db.execute(f"SELECT id, name_th FROM suppliers WHERE id IN ({', '.join('?' * len(everyone))})",
                            everyone).fetchall())
    edges = first + second
    for e in edges:
        e["hop"] = 1 if e in first else 2
        e["name_a"], e["name_b"] = names.get(e["supplier_a"]), names.get(e["supplier_b"])
    return render_template("network.html", s=supplier, edges=edges,
                           figure=_figure(supplier_id, neighbours, outer, edges, names))
