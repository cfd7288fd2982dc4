"""From budget to contracts: each budget unit and year beside what its e-GP agency bought that year.

A unit is tied to an agency in this order, and ``match`` says which tie held:

* ``no agency``: a rule of ``budget_units.csv`` says the unit has no e-GP agency of its own (the
  central fund, the nation-wide sum of the อบจ., a group of provinces), with the reason;
* ``mapping (certain)`` / ``mapping (uncertain)``: a rule of ``budget_units.csv`` names the agency
  (a unit the budget documents spell otherwise), with its source;
* ``id``: the budget document gives the agency's code;
* ``name``: the unit has the name of an e-GP buyer, and nothing more says it is the same body;
* ``none``: no e-GP buyer found, so nothing is set beside the budget (the pages list these units).

``name`` and ``mapping (uncertain)`` are uncertain and the pages say so. The rules live in data,
published as the table ``budget_unit_rules``, so a reader can see and correct every one.

Runs inside :func:`prongsai.derive.aggregates.build` (its transaction, its views ``_spend`` and
``_proj``): one grouping of them per agency, fiscal year and method (``BOUGHT``) feeds every table here.
"""
from __future__ import annotations

import csv
import pathlib

from prongsai.core.thai import agency_id

#: budgetary_unit, agency_name, certainty (certain | uncertain | none), source (English), source_th: one rule a row.
RULES = pathlib.Path(__file__).with_name("budget_units.csv")
CERTAINTIES = ("certain", "uncertain", "none")
#: matches that tie a unit to an agency on more than its name
CERTAIN = ("id", "mapping (certain)")
UNCERTAIN = ("name", "mapping (uncertain)")
UNMATCHED = ("none", "no agency")

#: What each agency bought per fiscal year and method (contracts by their date's fiscal year,
#: projects and flagged projects by their own, as agg_agency counts them): the one grouping of
#: ``_spend`` and ``_proj`` every table here reads. Counts and sums over projects, so an incremental
#: build adds the changed projects' rows to it (``aggregates.ADDITIVE``) instead of grouping a
#: million contracts again; aggregates fills it before ``SCRATCH``.
BOUGHT = {
    "agg_agency_buy": (
        "buyer_id TEXT, fy INTEGER, method TEXT, projects INTEGER, flagged INTEGER, contracts INTEGER, amount REAL, "
        "PRIMARY KEY (buyer_id, fy, method)",
        """SELECT buyer_id, fy, method, sum(projects), sum(flagged), sum(contracts), total(amount) FROM (
             SELECT buyer_id, fy, coalesce(method, '-') AS method, 0 AS projects, 0 AS flagged, count(*) AS contracts,
                    total(amount) AS amount
             FROM _spend WHERE buyer_id IS NOT NULL AND fy IS NOT NULL AND {project:project_id} GROUP BY 1, 2, 3
             UNION ALL
             SELECT buyer_id, fiscal_year, coalesce(method, '-'), count(*), sum(flagged), 0, 0
             FROM _proj WHERE buyer_id IS NOT NULL AND fiscal_year IS NOT NULL AND {project:project_id} GROUP BY 1, 2, 3)
           GROUP BY 1, 2, 3""",
    ),
}
(_BUY,) = BOUGHT
TEMP = ("_names", "_unit_map")
SCRATCH = [
    # one agency per name, a buyer first (the scraper's stub of a budget unit has the unit's name too)
    f"""CREATE TEMP TABLE _names AS
    SELECT a.name_th, coalesce(min(CASE WHEN b.buyer_id IS NOT NULL THEN a.id END), min(a.id)) AS id
    FROM agencies a LEFT JOIN (SELECT DISTINCT buyer_id FROM {_BUY}) b ON b.buyer_id = a.id
    WHERE a.name_th IS NOT NULL GROUP BY a.name_th""",
    "CREATE UNIQUE INDEX temp._names_name ON _names(name_th)",
    "CREATE TEMP TABLE _unit_map (budgetary_unit TEXT PRIMARY KEY, agency_name TEXT, agency_key TEXT, "
    "certainty TEXT, source TEXT, source_th TEXT)",
]

_UNITS = f"""
    SELECT u.fiscal_year, u.level, u.ministry, u.budgetary_unit, u.agency_id,
           CASE WHEN u.match = 'no agency' THEN u.match WHEN b.buyer_id IS NULL THEN 'none' ELSE u.match END,
           u.source, u.source_th, u.lines, u.amount, p.projects, p.contracts, p.amount, p.flagged FROM (
      SELECT bi.fiscal_year, coalesce(bi.level, '-') AS level, coalesce(bi.ministry, '-') AS ministry,
             coalesce(bi.budgetary_unit, '-') AS budgetary_unit,
             CASE WHEN m.certainty = 'none' THEN NULL
                  WHEN coalesce(mn.id, mk.id) IS NOT NULL THEN coalesce(mn.id, mk.id)
                  WHEN bi.agency_id NOT LIKE 'name:%' THEN bi.agency_id
                  ELSE coalesce(n.id, bi.agency_id) END AS agency_id,
             CASE WHEN m.certainty = 'none' THEN 'no agency'
                  WHEN coalesce(mn.id, mk.id) IS NOT NULL THEN 'mapping (' || m.certainty || ')'
                  WHEN bi.agency_id NOT LIKE 'name:%' THEN 'id'
                  ELSE 'name' END AS match,
             m.source, m.source_th, count(*) AS lines, total(bi.amount) AS amount
      FROM budget_items bi
      LEFT JOIN _unit_map m ON m.budgetary_unit = bi.budgetary_unit
      LEFT JOIN _names mn ON mn.name_th = m.agency_name
      LEFT JOIN agencies mk ON mk.id = m.agency_key
      LEFT JOIN _names n ON n.name_th = bi.budgetary_unit
      WHERE coalesce(bi.currency, 'THB') = 'THB' AND coalesce(bi.scope, 'nation') = 'nation'
            AND bi.instalment_of_bill IS NULL
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) u
    LEFT JOIN (SELECT DISTINCT buyer_id FROM {_BUY}) b ON b.buyer_id = u.agency_id
    LEFT JOIN (SELECT buyer_id, fy, sum(projects) AS projects, sum(contracts) AS contracts, total(amount) AS amount,
                      sum(flagged) AS flagged FROM {_BUY} GROUP BY 1, 2) p
           ON p.buyer_id = u.agency_id AND p.fy = u.fiscal_year"""

#: an agency counted once per ministry and year however many of its units it buys for
_MINISTRY_AGENCIES = """(SELECT DISTINCT fiscal_year, level, ministry, agency_id, procurement_projects,
    procurement_contracts, procurement_amount, flagged_projects FROM agg_budget WHERE match NOT IN ('none', 'no agency'))"""

#: table -> (DDL columns, SELECT filling it), built in this order.
TABLES: dict[str, tuple[str, str]] = {
    # budget given per unit and year beside what its agency bought in the same fiscal year
    "agg_budget": (
        "fiscal_year INTEGER, level TEXT, ministry TEXT, budgetary_unit TEXT, agency_id TEXT, match TEXT, "
        "match_source TEXT, match_source_th TEXT, lines INTEGER, budget_amount REAL, procurement_projects INTEGER, "
        "procurement_contracts INTEGER, procurement_amount REAL, flagged_projects INTEGER",
        _UNITS,
    ),
    # what each tied agency bought that year, by method
    "agg_budget_method": (
        "agency_id TEXT, fiscal_year INTEGER, method TEXT, projects INTEGER, contracts INTEGER, amount REAL, "
        "PRIMARY KEY (agency_id, fiscal_year, method)",
        f"""SELECT b.buyer_id, b.fy, b.method, b.projects, b.contracts, b.amount FROM {_BUY} b
           JOIN (SELECT DISTINCT agency_id, fiscal_year FROM agg_budget WHERE match NOT IN ('none', 'no agency')) u
             ON u.agency_id = b.buyer_id AND u.fiscal_year = b.fy""",
    ),
    # per ministry and year: its units' budget, how they were tied, and what their agencies bought
    "agg_budget_ministry": (
        "fiscal_year INTEGER, level TEXT, ministry TEXT, units INTEGER, certain_units INTEGER, "
        "uncertain_units INTEGER, unmatched_units INTEGER, lines INTEGER, budget_amount REAL, "
        "procurement_projects INTEGER, procurement_contracts INTEGER, procurement_amount REAL, "
        "flagged_projects INTEGER, PRIMARY KEY (fiscal_year, level, ministry)",
        f"""SELECT u.fiscal_year, u.level, u.ministry, u.units, u.certain_units, u.uncertain_units, u.unmatched_units,
                  u.lines, u.budget_amount, a.projects, a.contracts, a.amount, a.flagged FROM (
              SELECT fiscal_year, level, ministry, count(*) AS units, sum(match IN {CERTAIN}) AS certain_units,
                     sum(match IN {UNCERTAIN}) AS uncertain_units, sum(match IN {UNMATCHED}) AS unmatched_units,
                     sum(lines) AS lines, total(budget_amount) AS budget_amount
              FROM agg_budget GROUP BY 1, 2, 3) u
           LEFT JOIN (SELECT fiscal_year, level, ministry, sum(procurement_projects) AS projects,
                             sum(procurement_contracts) AS contracts, total(procurement_amount) AS amount,
                             sum(flagged_projects) AS flagged
                      FROM {_MINISTRY_AGENCIES} GROUP BY 1, 2, 3) a
             ON a.fiscal_year = u.fiscal_year AND a.level = u.level AND a.ministry = u.ministry""",
    ),
    "agg_budget_ministry_method": (
        "fiscal_year INTEGER, level TEXT, ministry TEXT, method TEXT, projects INTEGER, contracts INTEGER, "
        "amount REAL, PRIMARY KEY (fiscal_year, level, ministry, method)",
        f"""SELECT a.fiscal_year, a.level, a.ministry, m.method, sum(m.projects), sum(m.contracts), total(m.amount)
           FROM {_MINISTRY_AGENCIES} a
           JOIN agg_budget_method m ON m.agency_id = a.agency_id AND m.fiscal_year = a.fiscal_year
           GROUP BY 1, 2, 3, 4""",
    ),
    # the rules themselves, open beside the view they shape
    "budget_unit_rules": (
        "budgetary_unit TEXT PRIMARY KEY, agency_name TEXT, certainty TEXT, source TEXT, source_th TEXT",
        "SELECT budgetary_unit, agency_name, certainty, source, source_th FROM _unit_map",
    ),
}

_METHODS = """(SELECT group_concat(method || ' ' || contracts, '; ') FROM (
    SELECT method, contracts FROM agg_budget_method m WHERE m.agency_id = {t}.agency_id
    AND m.fiscal_year = {t}.fiscal_year ORDER BY amount DESC))"""

#: Open, documented views over the agg_* tables (which Datasette hides as portal caches).
VIEWS = {
    "budget_to_contracts": f"""SELECT fiscal_year, ministry, budgetary_unit, agency_id, match, match_source_th,
        match_source,
        lines AS budget_lines, budget_amount, procurement_projects, procurement_contracts, procurement_amount,
        flagged_projects, {_METHODS.format(t='b')} AS methods
        FROM agg_budget b WHERE level = 'national'""",
    "budget_to_contracts_by_ministry": """SELECT fiscal_year, ministry, units, certain_units, uncertain_units,
        unmatched_units, lines AS budget_lines, budget_amount, procurement_projects, procurement_contracts,
        procurement_amount, flagged_projects,
        (SELECT group_concat(method || ' ' || contracts, '; ') FROM (
           SELECT method, contracts FROM agg_budget_ministry_method m WHERE m.fiscal_year = b.fiscal_year
           AND m.level = b.level AND m.ministry = b.ministry ORDER BY amount DESC)) AS methods
        FROM agg_budget_ministry b WHERE level = 'national'""",
}

INDEXES = [
    "CREATE INDEX idx_agg_budget_fy ON agg_budget(fiscal_year, ministry)",
    "CREATE INDEX idx_agg_budget_agency ON agg_budget(agency_id, fiscal_year)",
]


def rules() -> list[dict]:
    """The mapping table's rows; a row without its certainty or source is refused (naming the line)."""
    with RULES.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for line, rule in enumerate(rows, start=2):
        if (rule["certainty"] not in CERTAINTIES
                or not all((rule.get(field) or "").strip() for field in ("budgetary_unit", "source", "source_th"))):
            raise ValueError(f"{RULES.name}:{line}: a rule needs budgetary_unit, certainty ({'/'.join(CERTAINTIES)}), "
                             f"source and source_th; found {rule}")
        if (rule["certainty"] == "none") != (not rule["agency_name"].strip()):
            raise ValueError(f"{RULES.name}:{line}: agency_name is empty exactly when certainty is none; found {rule}")
    return rows


def load_rules(db) -> None:
    """The rules into ``_unit_map`` (a SCRATCH table, created with aggregates' own)."""
    for r in rules():
        db.execute("INSERT INTO _unit_map VALUES (?, ?, ?, ?, ?, ?)", [
            r["budgetary_unit"], r["agency_name"] or None, agency_id(None, r["agency_name"]) if r["agency_name"] else None,
            r["certainty"], r["source"], r["source_th"]])
