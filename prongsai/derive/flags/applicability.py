"""How many projects (or organisations) each flag could be tested on, how many it fired on, the share.

A flag that fires on 0 of 5 testable projects says little, and one that fires on 60 % of them is more
likely mis-calibrated for this data than a sign of wrongdoing everywhere; readers are shown both.
A flag is testable on a project when every fact its definition ``needs`` is present (and the project's
method is one of its ``procurement_methods``); on organisations, the universe of its kind.
"""
from __future__ import annotations

from prongsai.derive.flags.definitions import FLAGS
from prongsai.derive.flags.settings import pipe_set

#: fact -> (SQL over ``_p p``, ``_aw a``, ``_bp x``, ``_th t`` for a project fact, or a count of
#: organisations; English; Thai). The texts are what the flag pages list as "fields needed".
FACTS: dict[str, tuple[str, str, str]] = {
    "tender_period": ("julianday(p.tender_start) IS NOT NULL AND julianday(p.tender_end) IS NOT NULL",
                      "tender period (start and end dates)", "ช่วงเวลายื่นข้อเสนอ (วันเริ่มและวันสิ้นสุด)"),
    "number_of_tenderers": ("typeof(p.number_of_tenderers) = 'integer'", "number of tenderers", "จำนวนผู้เสนอราคา"),
    "bids": ("x.pid IS NOT NULL", "bids", "ข้อเสนอราคา"),
    "bidders": ("x.pid IS NOT NULL OR p.number_of_tenderers IS NOT NULL", "bids or the number of tenderers",
                "ข้อเสนอราคาหรือจำนวนผู้เสนอราคา"),
    "winner": ("a.winner IS NOT NULL", "a single winner", "ผู้ชนะรายเดียว"),
    "award_amount": ("t.award_amount IS NOT NULL", "awarded amount (THB)", "ราคาที่ตกลง (บาท)"),
    "reference_price": ("t.reference_price > 0", "reference price (ราคากลาง)", "ราคากลาง"),
    "budget": ("t.budget > 0", "budget", "งบประมาณ"),
    "award_or_budget": ("t.award_amount IS NOT NULL OR t.budget IS NOT NULL", "awarded amount or budget",
                        "ราคาที่ตกลงหรืองบประมาณ"),
    "date": ("julianday(substr(t.date, 1, 10)) IS NOT NULL", "announcement or award date", "วันที่ประกาศหรือวันที่ตกลง"),
    "buyer": ("p.buyer_id IS NOT NULL", "buyer", "หน่วยงานเจ้าของงบ"),
    "contract_amounts": ("", "contract and agreed amounts (THB)", "มูลค่าสัญญาและราคาที่ตกลง (บาท)"),
    "unit_price": ("", "item unit prices with UNSPSC class and unit, 10+ comparable",
                   "ราคาต่อหน่วยพร้อมรหัส UNSPSC และหน่วยนับ ที่เทียบกันได้ 10 รายการขึ้นไป"),
    # organisations
    "tenderers": ("SELECT count(DISTINCT supplier_id) FROM main.bid_tenderers", "tenderers", "ผู้เสนอราคา"),
    "suppliers": ("SELECT count(DISTINCT supplier_id) FROM main.award_suppliers", "suppliers with awards",
                  "ผู้ขายที่ได้รับงาน"),
    "buyers": ("SELECT count(DISTINCT buyer_id) FROM _p", "buyers", "หน่วยงานเจ้าของงบ"),
    "procuring_entities": ("SELECT count(DISTINCT procuring_entity_id) FROM _p", "procuring entities",
                           "หน่วยงานจัดซื้อ"),
    "buyers_with_bids": ("SELECT count(DISTINCT p.buyer_id) FROM _bp x JOIN _p p ON p.pid = x.pid "
                         "WHERE x.tenderers >= 3", "buyers with tenders of 3+ tenderers",
                         "หน่วยงานที่มีการเสนอราคา 3 รายขึ้นไป"),
}
#: facts counted on their own (by the flag's rule or as organisations), not per project
_OWN_COUNT = ("unit_price", "contract_amounts")
_ORGANISATION_FACTS = ("tenderers", "suppliers", "buyers", "procuring_entities", "buyers_with_bids")
PROCESS_FACTS = tuple(f for f in FACTS if f not in _ORGANISATION_FACTS and f not in _OWN_COUNT)


def is_organisational(code: str) -> bool:
    return all(need in _ORGANISATION_FACTS for need in FLAGS[code].needs)


def count_testable(conn, enabled: dict[str, dict]) -> None:
    """Into ``flag_testable``: each enabled flag's testable count (TH04 and TH14 count their own)."""
    bits = " + ".join(f"CASE WHEN {FACTS[f][0]} THEN {1 << i} ELSE 0 END" for i, f in enumerate(PROCESS_FACTS))
    # projects counted per (facts present, method) by upsert into a table of a few rows: a GROUP BY
    # would sort a million of them (no method: '', which no setting names)
    conn.execute("CREATE TEMP TABLE _masks (mask INT, method TEXT, n INT, PRIMARY KEY (mask, method)) WITHOUT ROWID")
    conn.execute(f"""
        INSERT INTO _masks SELECT {bits}, COALESCE(p.ocds_method, ''), 1 FROM _p p
        LEFT JOIN _aw a ON a.pid = p.pid LEFT JOIN _bp x ON x.pid = p.pid LEFT JOIN _th t ON t.pid = p.pid
        WHERE 1 ON CONFLICT DO UPDATE SET n = n + 1
    """)
    groups = conn.execute("SELECT mask, method, n FROM _masks").fetchall()
    organisations: dict[str, int] = {}
    rows = []
    for code, cfg in enabled.items():
        needs = FLAGS[code].needs
        if any(need in _OWN_COUNT for need in needs):
            continue
        if is_organisational(code):
            for need in needs:
                if need not in organisations:
                    organisations[need] = conn.execute(FACTS[need][0]).fetchone()[0]
            rows.append((code, sum(organisations[need] for need in needs)))
            continue
        mask = sum(1 << PROCESS_FACTS.index(need) for need in needs)
        methods = set(pipe_set(cfg.get("procurement_methods")))
        rows.append((code, sum(n for m, method, n in groups
                               if m & mask == mask and (not methods or method in methods))))
    conn.executemany("INSERT INTO flag_testable VALUES (?, ?)", rows)


def rows(testable: dict[str, int], fired: dict[str, int], max_fired_pct: float, computed_at: str) -> list[tuple]:
    """``flag_applicability`` rows for the flags that ran."""
    out = []
    for code, n in sorted(testable.items()):
        hits = fired.get(code, 0)
        share = hits / n if n else None
        out.append((code, "organisations" if is_organisational(code) else "projects",
                    ",".join(FLAGS[code].needs), n, hits, share, max_fired_pct,
                    int(share is not None and share * 100 > max_fired_pct), computed_at))
    return out


def warnings(applicability: list[tuple]) -> list[str]:
    """One line per probably mis-calibrated flag, for the build's output."""
    return [f"flags: {code} fired on {share * 100:.1f} % of {n:,} testable {unit} (more than {limit:g} %): "
            f"probably mis-calibrated for this data"
            for code, unit, _, n, _, share, limit, bad, _ in applicability if bad]
