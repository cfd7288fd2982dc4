"""The public schema of ``procurement.db``: stable names journalists write SQL against.

Names follow OCDS (parties, tender, bids, awards, contracts) so that OCP's red flags can be
computed, with the Thai fields beside them (reference price, method, B.E. fiscal year).
Each migration is applied once, in order, recorded in ``schema_version``; running
``migrate`` again changes nothing.

Row ids that join tables (``bids.id``, ``awards.id``, ``contracts.id``, ``items.id``) are
``<project_id>/<source id>`` strings, so they are stable across re-runs of a scraper.
"""
from __future__ import annotations

import pathlib
import sqlite3

import sqlite_utils

from prongsai.core import migrations

#: Columns every source row carries (OpenSanctions-style provenance).
PROVENANCE = """
    source TEXT,
    source_url TEXT,
    fetched_at TEXT,
    content_sha256 TEXT,
    first_seen TEXT,
    last_seen TEXT"""

_V1 = f"""
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE agencies (
    id TEXT PRIMARY KEY,          -- e-GP department code when known, else 'name:' + normalised Thai name
    name_th TEXT,
    name_en TEXT,
    ministry TEXT,
    department_code TEXT,
    province TEXT,{PROVENANCE}
);
CREATE INDEX idx_agencies_ministry ON agencies(ministry);
CREATE INDEX idx_agencies_province ON agencies(province);

CREATE TABLE suppliers (
    id TEXT PRIMARY KEY,          -- the tax id when ok, else 'x:' + hash(raw id, normalised name)
    tax_id TEXT,                  -- 13 digits, only when tax_id_status = 'ok'
    tax_id_raw TEXT,              -- as published
    tax_id_status TEXT CHECK (tax_id_status IN ('ok', 'masked', 'damaged', 'missing', 'invalid')),
    name_th TEXT,
    name_normalized TEXT,
    name_en TEXT,
    country TEXT,{PROVENANCE}
);
CREATE INDEX idx_suppliers_tax_id ON suppliers(tax_id);
CREATE INDEX idx_suppliers_name_normalized ON suppliers(name_normalized);

CREATE TABLE projects (
    project_id TEXT PRIMARY KEY,  -- e-GP 11-digit id, or the ocid for OCDS sources
    title TEXT,
    project_type TEXT,            -- ซื้อ, จ้างก่อสร้าง, ...
    main_procurement_category TEXT, -- OCDS goods / works / services
    buyer_id TEXT REFERENCES agencies(id),
    procuring_entity_id TEXT REFERENCES agencies(id),
    sub_agency TEXT,
    method TEXT,                  -- Thai method name as published, e.g. ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)
    method_group TEXT,            -- ประกาศเชิญชวนทั่วไป / คัดเลือก / เฉพาะเจาะจง
    method_id_raw TEXT,
    ocds_method TEXT,             -- open / selective / limited / direct
    fiscal_year INTEGER,          -- Buddhist era, October-September
    announce_date TEXT,
    tender_start TEXT,
    tender_end TEXT,
    tender_status TEXT,           -- OCDS tender.status (e.g. cancelled)
    number_of_tenderers INTEGER,
    budget REAL,
    reference_price REAL,         -- ราคากลาง
    currency TEXT,
    status TEXT,                  -- สถานะโครงการ as published
    province TEXT,
    district TEXT,
    subdistrict TEXT,
    location_wkt TEXT,{PROVENANCE}
);
CREATE INDEX idx_projects_buyer_id ON projects(buyer_id);
CREATE INDEX idx_projects_procuring_entity_id ON projects(procuring_entity_id);
CREATE INDEX idx_projects_fiscal_year ON projects(fiscal_year);
CREATE INDEX idx_projects_method ON projects(method);
CREATE INDEX idx_projects_method_group ON projects(method_group);
CREATE INDEX idx_projects_ocds_method ON projects(ocds_method);
CREATE INDEX idx_projects_province ON projects(province);
CREATE INDEX idx_projects_announce_date ON projects(announce_date);

CREATE TABLE items (
    id TEXT PRIMARY KEY,          -- project_id/item_id
    project_id TEXT NOT NULL REFERENCES projects(project_id),
    item_id TEXT,
    classification_scheme TEXT,
    classification_id TEXT,
    description TEXT,
    quantity REAL,
    unit TEXT,
    unit_value REAL,
    currency TEXT,{PROVENANCE}
);
CREATE INDEX idx_items_project_id ON items(project_id);
CREATE INDEX idx_items_classification ON items(classification_scheme, classification_id);

CREATE TABLE bids (
    id TEXT PRIMARY KEY,          -- project_id/bid_id
    project_id TEXT NOT NULL REFERENCES projects(project_id),
    bid_id TEXT,
    date TEXT,
    amount REAL,
    currency TEXT,
    status TEXT CHECK (status IN ('valid', 'disqualified', 'pending', 'withdrawn', 'invited') OR status IS NULL),
    is_winner INTEGER,            -- 1 when the source marks this bid as the winning one{PROVENANCE}
);
CREATE INDEX idx_bids_project_id ON bids(project_id);

CREATE TABLE bid_tenderers (
    bid_id TEXT NOT NULL REFERENCES bids(id),
    supplier_id TEXT NOT NULL REFERENCES suppliers(id),
    name TEXT,
    PRIMARY KEY (bid_id, supplier_id)
);
CREATE INDEX idx_bid_tenderers_supplier_id ON bid_tenderers(supplier_id);

CREATE TABLE awards (
    id TEXT PRIMARY KEY,          -- project_id/award_id
    project_id TEXT NOT NULL REFERENCES projects(project_id),
    award_id TEXT,
    status TEXT,
    amount REAL,
    currency TEXT,
    date TEXT,{PROVENANCE}
);
CREATE INDEX idx_awards_project_id ON awards(project_id);

CREATE TABLE award_suppliers (
    award_id TEXT NOT NULL REFERENCES awards(id),
    supplier_id TEXT NOT NULL REFERENCES suppliers(id),
    PRIMARY KEY (award_id, supplier_id)
);
CREATE INDEX idx_award_suppliers_supplier_id ON award_suppliers(supplier_id);

CREATE TABLE award_items (
    award_id TEXT NOT NULL REFERENCES awards(id),
    classification_scheme TEXT NOT NULL,
    classification_id TEXT NOT NULL,
    PRIMARY KEY (award_id, classification_scheme, classification_id)
);

CREATE TABLE contracts (
    id TEXT PRIMARY KEY,          -- project_id/contract_no (or source contract id)
    project_id TEXT NOT NULL REFERENCES projects(project_id),
    award_id TEXT REFERENCES awards(id),
    contract_no TEXT,
    supplier_id TEXT REFERENCES suppliers(id),
    supplier_name TEXT,
    award_amount REAL,            -- ราคาตกลงซื้อ/จ้าง
    contract_amount REAL,         -- งบสัญญา
    currency TEXT,
    signed_date TEXT,
    end_date TEXT,
    status TEXT,{PROVENANCE}
);
CREATE INDEX idx_contracts_project_id ON contracts(project_id);
CREATE INDEX idx_contracts_supplier_id ON contracts(supplier_id);
CREATE INDEX idx_contracts_signed_date ON contracts(signed_date);
CREATE INDEX idx_contracts_award_id ON contracts(award_id);

CREATE TABLE announcements (
    id TEXT PRIMARY KEY,          -- project_id/type/published_at (or the source's own id)
    project_id TEXT NOT NULL REFERENCES projects(project_id),
    type TEXT,                    -- e-GP type code: P0 B0 15 D0 D1 D2 W0 W1 W2
    title TEXT,
    published_at TEXT,
    url TEXT,
    agency_id TEXT REFERENCES agencies(id),{PROVENANCE}
);
CREATE INDEX idx_announcements_project_id ON announcements(project_id);
CREATE INDEX idx_announcements_published_at ON announcements(published_at);
CREATE INDEX idx_announcements_agency_id ON announcements(agency_id);

CREATE TABLE budget_items (
    id TEXT PRIMARY KEY,
    fiscal_year INTEGER,
    level TEXT,                   -- national (budget bill) / local (อปท.)
    ministry TEXT,
    budgetary_unit TEXT,
    agency_id TEXT REFERENCES agencies(id),
    province TEXT,
    plan TEXT,
    output TEXT,
    project TEXT,
    category TEXT,
    description TEXT,
    amount REAL,
    currency TEXT,
    source_doc TEXT,
    source_page INTEGER,{PROVENANCE}
);
CREATE INDEX idx_budget_items_fiscal_year ON budget_items(fiscal_year);
CREATE INDEX idx_budget_items_ministry ON budget_items(ministry);
CREATE INDEX idx_budget_items_agency_id ON budget_items(agency_id);

CREATE TABLE flag_definitions (
    code TEXT PRIMARY KEY,
    cardinal_code TEXT,
    scope TEXT,                   -- process / buyer / procuring_entity / tenderer
    severity TEXT,                -- low / medium / high
    title_th TEXT,
    title_en TEXT,
    explanation_th TEXT,          -- template filled from evidence
    explanation_en TEXT,
    threshold TEXT                -- the setting in force, as text
);

CREATE TABLE red_flags (
    project_id TEXT NOT NULL REFERENCES projects(project_id),
    code TEXT NOT NULL REFERENCES flag_definitions(code),
    value REAL,
    evidence TEXT,                -- JSON: numbers and ids that triggered it
    computed_at TEXT,
    PRIMARY KEY (project_id, code)
);
CREATE INDEX idx_red_flags_code ON red_flags(code);

CREATE TABLE org_flags (
    org_type TEXT NOT NULL CHECK (org_type IN ('buyer', 'procuring_entity', 'tenderer')),
    org_id TEXT NOT NULL,
    code TEXT NOT NULL REFERENCES flag_definitions(code),
    value REAL,
    evidence TEXT,
    computed_at TEXT,
    PRIMARY KEY (org_type, org_id, code)
);
CREATE INDEX idx_org_flags_code ON org_flags(code);

CREATE TABLE risk_scores (
    project_id TEXT PRIMARY KEY REFERENCES projects(project_id),
    score REAL,                   -- 0-100
    flag_count INTEGER,
    codes TEXT,                   -- comma-separated flag codes
    computed_at TEXT
);
CREATE INDEX idx_risk_scores_score ON risk_scores(score);

CREATE TABLE source_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT,                  -- file path or URL of the run
    target_sha256 TEXT,           -- sha256 of the downloaded/read file, when the run had one
    started_at TEXT,
    finished_at TEXT,
    status TEXT,                  -- running / ok / failed
    rows_in INTEGER,
    rows_changed INTEGER,
    rows_quarantined INTEGER,
    error TEXT
);
CREATE INDEX idx_source_runs_source ON source_runs(source, started_at);

CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    row_id TEXT NOT NULL,
    project_id TEXT,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    seen_at TEXT,
    source_run_id INTEGER REFERENCES source_runs(id)
);
CREATE INDEX idx_changes_project_id ON changes(project_id);
CREATE INDEX idx_changes_row ON changes(table_name, row_id);
CREATE INDEX idx_changes_source_run_id ON changes(source_run_id);

CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    source TEXT,
    source_run_id INTEGER REFERENCES source_runs(id),
    location TEXT,                -- file:line or URL
    raw TEXT,
    reason TEXT,
    seen_at TEXT
);
CREATE INDEX idx_quarantine_source_run_id ON quarantine(source_run_id);
"""

#: version -> DDL script. Append new versions; never edit an applied one.
#: what a budget line covers: 'nation' (a bill, or the อบจ. summed nation-wide) or 'province' (one
#: อบจ.'s own lines), so a province's file never lands on, or is summed with, the nation-wide lines.
_V2_BUDGET_SCOPE = """
ALTER TABLE budget_items ADD COLUMN scope TEXT;
UPDATE budget_items SET scope = 'nation' WHERE scope IS NULL;
CREATE INDEX idx_budget_items_scope_province ON budget_items(scope, province);
"""

#: a multi-year obligation is listed in a bill with one row per year of its schedule; only the bill's
#: own year is money it appropriates. The other years' rows are kept, labelled with the bill's fiscal
#: year, and left out of every per-year sum (NULL: the bill's own appropriation).
_V3_BUDGET_INSTALMENTS = """
ALTER TABLE budget_items ADD COLUMN instalment_of_bill INTEGER;
"""

#: what each load inserted, amended, filled or removed, by project, agency and supplier (not what it
#: only saw again), so an incremental build reads the projects a refresh changed without scanning
#: every table. A load into empty tables writes one row of kind 'all' instead: everything is new.
#: No foreign key on source_runs: a table with one would end a first load's bulk mode (scrapers.store).
_V4_RUN_TOUCHED = """
CREATE TABLE run_touched (
    source_run_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (source_run_id, kind, key)
) WITHOUT ROWID;
"""

MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2_BUDGET_SCOPE, 3: _V3_BUDGET_INSTALMENTS, 4: _V4_RUN_TOUCHED}

SCHEMA_VERSION = max(MIGRATIONS)


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply pending migrations (see :mod:`prongsai.core.migrations`); return the versions applied."""
    return migrations.migrate(db.conn, MIGRATIONS)


#: Every row of the public database is published, so nothing deleted needs overwriting; Debian's
#: SQLite (the one Python links to here and in the Docker image) is built with secure delete on, which
#: zeroes each freed page and writes it to the WAL: replacing a million flags' rows cost a second more.
#: The private ``complaints.db`` keeps it on (``portal.complaints.db``).
PUBLIC_SECURE_DELETE = "OFF"


def open_db(path, *, create: bool = True) -> sqlite_utils.Database:
    """Open ``procurement.db`` (creating and migrating it) with the pragmas loads rely on."""
    path = pathlib.Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"database not found: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.conn.isolation_level = None  # explicit transactions only
    try:
        db.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:  # a first load holds it in rollback-journal mode
        if "locked" not in str(exc):       # (scrapers.store), and sets WAL again when it ends
            raise
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute(f"PRAGMA secure_delete = {PUBLIC_SECURE_DELETE}")
    migrate(db)
    return db


def get_meta(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_meta(db: sqlite_utils.Database, **values: str) -> None:
    for key, value in values.items():
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def read_meta_file(path, key: str) -> str | None:
    """One ``meta`` value from a database file, read-only; None when absent or not a Prongsai DB.

    For guards that must look before they touch a file (demo over real data, refresh over a demo).
    """
    conn = sqlite3.connect(f"file:{pathlib.Path(path).resolve()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row else None
