"""Unit prices across agencies: Thai units normalised, a median and spread per item class, unit and
fiscal year (``unit_price_benchmarks``), where each agency sits (``unit_price_agencies``), and TH14.

Published units are free text (เครื่อง, "เครื่อง.", "๑ เครื่อง", กิโลกรัม, กก., โหล ...): the same
purchase written three ways would otherwise be three groups of one, and a dozen priced as one piece
would look twelve times too dear. A unit is read once per distinct spelling, not once per item.
"""
from __future__ import annotations

import re

from prongsai.core.thai import to_arabic_digits

#: spelling (lower case, no trailing dot or spaces) -> (unit, how many of it one such unit holds)
UNIT_ALIASES: dict[str, tuple[str, float]] = {
    **{s: ("ชุด", 1) for s in ("ชุด", "ชด", "set", "sets")},
    **{s: ("เครื่อง", 1) for s in ("เครื่อง", "เครือง", "machine")},
    **{s: ("ตัว", 1) for s in ("ตัว",)},
    **{s: ("กก.", 1) for s in ("กก", "กก.", "กิโลกรัม", "กิโล", "kg", "kgs")},
    "กรัม": ("กก.", 0.001), "g": ("กก.", 0.001), "ตัน": ("กก.", 1000),
    **{s: ("ลิตร", 1) for s in ("ลิตร", "ล", "l", "litre", "liter")},
    **{s: ("เมตร", 1) for s in ("เมตร", "ม", "m")},
    **{s: ("ชิ้น", 1) for s in ("ชิ้น", "ชิ้น.", "pcs", "piece")},
    "โหล": ("ชิ้น", 12),
}
_COUNTED = re.compile(r"^(\d+(?:\.\d+)?)\s*(.*)$")


def normalize_unit(raw: str | None) -> tuple[str, float] | None:
    """``(unit, factor)`` for a published unit: the price of one normalised unit is price / factor.

    Thai numerals are read, a leading count is a pack of that many ("12 ชิ้น", "๑ เครื่อง"), a
    trailing dot and spacing are dropped; an unknown word is kept as written (cleaned), so it still
    groups with its own kind. ``None`` when nothing is left.
    """
    if raw is None:
        return None
    text = " ".join(to_arabic_digits(str(raw)).lower().split()).rstrip(". ")
    count = 1.0
    if match := _COUNTED.match(text):
        count, text = float(match[1]), match[2].rstrip(". ")
    if not text or count <= 0:
        return None
    unit, factor = UNIT_ALIASES.get(text, (text, 1.0))
    return unit, factor * count


def _units(conn) -> None:
    """``_units``: every distinct published unit of ``items`` with its normalised unit and factor."""
    conn.execute("CREATE TEMP TABLE _units (raw TEXT PRIMARY KEY, unit TEXT, factor REAL) WITHOUT ROWID")
    rows = [(raw, *norm) for (raw,) in conn.execute("SELECT DISTINCT unit FROM main.items WHERE unit IS NOT NULL")
            if (norm := normalize_unit(raw))]
    conn.executemany("INSERT INTO _units VALUES (?, ?, ?)", rows)


def th14(conn, cfg) -> None:
    """Benchmarks per (class, unit, fiscal year), agencies' places in them, and the TH14 flag.

    Without window functions (ranking a million prices within their groups by ``row_number() OVER``
    costs five times sorting them): the prices are stored once in group and price order, so a group
    is a range of ranks, its median and quartiles are lookups by rank and its prices a range scan.
    """
    digits = int(cfg["digits"])
    _units(conn)
    conn.execute("CREATE TEMP TABLE _ipr (rank INTEGER PRIMARY KEY, cls, unit, fy, price, pid, buyer_id, item_id)")
    # items in table order (``+`` keeps SQLite off the classification index: reading the rows in
    # its order is ten times slower at a million items), sorted once into ranks
    conn.execute("""
        INSERT INTO _ipr (cls, unit, fy, price, pid, buyer_id, item_id)
        SELECT substr(i.classification_id, 1, ?), u.unit, p.fiscal_year, i.unit_value / u.factor, p.pid, p.buyer_id,
               i.item_id
        FROM main.items i JOIN main.projects pr INDEXED BY sqlite_autoindex_projects_1 ON pr.project_id = i.project_id
        JOIN _p p ON p.pid = pr.rowid JOIN _units u ON u.raw = i.unit
        WHERE +i.classification_scheme = 'UNSPSC' AND length(i.classification_id) >= ? AND i.unit_value > 0
          AND COALESCE(i.currency, p.currency) = 'THB' AND p.fiscal_year IS NOT NULL
        ORDER BY 1, 2, 3, 4
    """, [digits, digits])
    # a group starts where the rank before is of another (class, unit, year) and ends before the next start
    conn.execute("CREATE TEMP TABLE _ipg (lo INTEGER PRIMARY KEY)")
    conn.execute("""
        INSERT INTO _ipg SELECT r.rank FROM _ipr r LEFT JOIN _ipr q ON q.rank = r.rank - 1
        WHERE q.rank IS NULL OR q.cls IS NOT r.cls OR q.unit IS NOT r.unit OR q.fy IS NOT r.fy
    """)
    at = "(SELECT price FROM _ipr WHERE rank = lo + {} - 1)"
    conn.execute(f"""
        CREATE TEMP TABLE _ipb AS
        SELECT b.*, r.cls, r.unit, r.fy, ({at.format("(n + 1) / 2")} + {at.format("(n + 2) / 2")}) / 2 AS median,
               {at.format("(n + 3) / 4")} AS p25, {at.format("(3 * n + 3) / 4")} AS p75, r.price AS min,
               (SELECT price FROM _ipr WHERE rank = hi) AS max, n >= ? AS comparable
        FROM (SELECT lo, hi, hi - lo + 1 AS n FROM (
                  SELECT lo, COALESCE((SELECT h.lo FROM _ipg h WHERE h.lo > g.lo ORDER BY h.lo LIMIT 1),
                                      (SELECT max(rank) FROM _ipr) + 1) - 1 AS hi FROM _ipg g)
              WHERE hi > lo) b
        JOIN _ipr r ON r.rank = b.lo
    """, [cfg["min_comparable"]])
    conn.execute("INSERT INTO unit_price_benchmarks SELECT cls, unit, fy, n, median, p25, p75, min, max, comparable "
                 "FROM _ipb")
    comparable = "FROM _ipb b JOIN _ipr r ON r.rank BETWEEN b.lo AND b.hi WHERE b.comparable"
    # per (group, agency), folded by upsert as the ranks come, in group order (a GROUP BY would sort
    # every price again): a running mean, its ratio to the median alike
    conn.execute(f"""
        INSERT INTO unit_price_agencies
        SELECT b.cls, b.unit, b.fy, r.buyer_id, 1, r.price, r.price, r.price / b.median
        {comparable} AND r.buyer_id IS NOT NULL
        ON CONFLICT (item_class, unit, fiscal_year, buyer_id) DO UPDATE SET
            purchases = purchases + 1, max_price = max(max_price, excluded.max_price),
            mean_price = mean_price + (excluded.mean_price - mean_price) / (purchases + 1),
            ratio_to_median = ratio_to_median + (excluded.ratio_to_median - ratio_to_median) / (purchases + 1)
    """)
    conn.execute(f"INSERT INTO flag_testable SELECT 'TH14', count(*) FROM (SELECT r.pid {comparable} GROUP BY r.pid)")
    # per project its dearest item (max()'s bare columns come from its row)
    conn.execute(f"""
        INSERT INTO process_hits
        SELECT pid, 'TH14', ratio,
               json_object('item_id', item_id, 'unit_price', price, 'unit', unit, 'median', median,
                           'comparable', n, 'item_class', cls, 'fiscal_year', fy, 'ratio', ratio,
                           'min_ratio', ?, 'min_comparable', ?)
        FROM (SELECT r.pid, r.item_id, r.price, b.unit, b.median, b.n, b.cls, b.fy, max(r.price / b.median) AS ratio
              {comparable} AND b.median > 0 AND r.price > ? * b.median GROUP BY r.pid)
    """, [cfg["min_ratio"], cfg["min_comparable"], cfg["min_ratio"]])
