"""``prongsai demo``: a deterministic, realistic DEMO database, generated offline.

Every name and number is invented (``meta.dataset = 'demo'``), but the shapes follow the real
e-GP data: Thai agencies in all 77 provinces, the real method mix, lognormal budgets, reference
prices near budgets, bids with pass/fail, Buddhist-era fiscal years with a September peak, valid
and masked and Excel-damaged tax ids, repeat winners, and a planted share of every suspicious
pattern the red flags look for, so each flag and canned query finds rows even on a small run.

Rows are streamed in batches into a temporary file which replaces the target only when complete.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import pathlib
import random
import sqlite3

from prongsai.core.errors import UserError
from prongsai.core.progress import progress
from prongsai.core.schema import get_meta, open_db, read_meta_file
from prongsai.core.thai import fiscal_year, normalize_name, supplier_id, tax_id_check_digit

SOURCE = "demo"
CURRENCY = "THB"
DIRECT_LIMIT = 500_000  # เฉพาะเจาะจง limit the splitting flags look at

PROVINCES = [
    "กรุงเทพมหานคร", "กระบี่", "กาญจนบุรี", "กาฬสินธุ์", "กำแพงเพชร", "ขอนแก่น", "จันทบุรี", "ฉะเชิงเทรา",
    "ชลบุรี", "ชัยนาท", "ชัยภูมิ", "ชุมพร", "เชียงราย", "เชียงใหม่", "ตรัง", "ตราด", "ตาก", "นครนายก",
    "นครปฐม", "นครพนม", "นครราชสีมา", "นครศรีธรรมราช", "นครสวรรค์", "นนทบุรี", "นราธิวาส", "น่าน",
    "บึงกาฬ", "บุรีรัมย์", "ปทุมธานี", "ประจวบคีรีขันธ์", "ปราจีนบุรี", "ปัตตานี", "พระนครศรีอยุธยา",
    "พะเยา", "พังงา", "พัทลุง", "พิจิตร", "พิษณุโลก", "เพชรบุรี", "เพชรบูรณ์", "แพร่", "ภูเก็ต",
    "มหาสารคาม", "มุกดาหาร", "แม่ฮ่องสอน", "ยโสธร", "ยะลา", "ร้อยเอ็ด", "ระนอง", "ระยอง", "ราชบุรี",
    "ลพบุรี", "ลำปาง", "ลำพูน", "เลย", "ศรีสะเกษ", "สกลนคร", "สงขลา", "สตูล", "สมุทรปราการ",
    "สมุทรสงคราม", "สมุทรสาคร", "สระแก้ว", "สระบุรี", "สิงห์บุรี", "สุโขทัย", "สุพรรณบุรี", "สุราษฎร์ธานี",
    "สุรินทร์", "หนองคาย", "หนองบัวลำภู", "อ่างทอง", "อำนาจเจริญ", "อุดรธานี", "อุตรดิตถ์", "อุทัยธานี",
    "อุบลราชธานี",
]
assert len(PROVINCES) == 77

#: ministry -> departments (central government, one office in Bangkok each).
MINISTRIES = {
    "กระทรวงคมนาคม": ["กรมทางหลวง", "กรมทางหลวงชนบท", "กรมเจ้าท่า", "กรมท่าอากาศยาน"],
    "กระทรวงศึกษาธิการ": ["สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน", "สำนักงานปลัดกระทรวงศึกษาธิการ",
                          "สำนักงานคณะกรรมการการอาชีวศึกษา"],
    "กระทรวงสาธารณสุข": ["สำนักงานปลัดกระทรวงสาธารณสุข", "กรมควบคุมโรค", "กรมการแพทย์"],
    "กระทรวงมหาดไทย": ["กรมส่งเสริมการปกครองท้องถิ่น", "กรมป้องกันและบรรเทาสาธารณภัย", "กรมการปกครอง",
                       "กรมโยธาธิการและผังเมือง"],
    "กระทรวงเกษตรและสหกรณ์": ["กรมชลประทาน", "กรมพัฒนาที่ดิน", "กรมปศุสัตว์", "กรมวิชาการเกษตร"],
    "กระทรวงกลาโหม": ["กองทัพบก", "กองทัพเรือ", "กองทัพอากาศ"],
    "กระทรวงการคลัง": ["กรมบัญชีกลาง", "กรมสรรพากร", "กรมศุลกากร"],
    "กระทรวงทรัพยากรธรรมชาติและสิ่งแวดล้อม": ["กรมป่าไม้", "กรมอุทยานแห่งชาติ สัตว์ป่า และพันธุ์พืช",
                                              "กรมทรัพยากรน้ำ"],
    "กระทรวงการอุดมศึกษา วิทยาศาสตร์ วิจัยและนวัตกรรม": ["มหาวิทยาลัยเทคโนโลยีราชมงคลธัญบุรี",
                                                           "มหาวิทยาลัยราชภัฏเชียงใหม่"],
    "สำนักนายกรัฐมนตรี": ["สำนักงานตำรวจแห่งชาติ", "กรมประชาสัมพันธ์"],
}
LOCAL_MINISTRY = "กระทรวงมหาดไทย"
PLACE_SYLLABLES = ["บ้าน", "หนอง", "โนน", "ดอน", "ห้วย", "นา", "โคก", "ท่า", "วัง", "บึง", "สระ", "คลอง",
                   "แม่", "ป่า", "เขา", "ทุ่ง", "ศรี", "ชัย", "สุข", "ทอง", "แก้ว", "เจริญ", "งาม", "ใหม่",
                   "หลวง", "น้อย", "ใหญ่", "สวรรค์", "ไทร", "มะม่วง", "ขาม", "แดง", "เหนือ", "ใต้"]
COMPANY_WORDS = ["รุ่งเรือง", "เจริญ", "ก่อสร้าง", "ศรีสยาม", "วิศวกรรม", "การค้า", "สุขสันต์", "ทองคำ",
                 "มั่นคง", "พัฒนา", "ไทยรุ่ง", "เอ็นจิเนียริ่ง", "ซัพพลาย", "เทคโนโลยี", "คอนสตรัคชั่น",
                 "เมดิคอล", "ภัณฑ์", "ออฟฟิศ", "โยธา", "สยาม", "ชัยมงคล", "เกษตร", "ยนต์", "อินเตอร์"]
LEGAL = ["บริษัท", "ห้างหุ้นส่วนจำกัด", "บริษัท", "ห้างหุ้นส่วนจำกัด", "บริษัท", "ร้าน"]

#: (method, method_group, method_id_raw, ocds_method, share)
METHODS = [
    ("เฉพาะเจาะจง", "เฉพาะเจาะจง", "19", "limited", 0.68),
    ("ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)", "ประกาศเชิญชวนทั่วไป", "16", "open", 0.15),
    ("ตลาดอิเล็กทรอนิกส์ (e-market)", "ประกาศเชิญชวนทั่วไป", "15", "open", 0.11),
    ("คัดเลือก", "คัดเลือก", "18", "selective", 0.06),
]
#: project_type, OCDS category, what is bought, UNSPSC-like classification segments
PROJECT_TYPES = [
    ("ซื้อ", "goods", ["วัสดุสำนักงาน", "ครุภัณฑ์คอมพิวเตอร์", "วัสดุการแพทย์", "อาหารเสริม (นม)",
                       "วัสดุเชื้อเพลิงและหล่อลื่น", "ครุภัณฑ์การเกษตร", "วัสดุก่อสร้าง"],
     ["44", "43", "42", "50", "15", "21", "30"]),
    ("จ้างก่อสร้าง", "works", ["ก่อสร้างถนนคอนกรีตเสริมเหล็ก", "ก่อสร้างรางระบายน้ำ", "ปรับปรุงอาคารเรียน",
                               "ก่อสร้างฝายชะลอน้ำ", "ขุดลอกคลอง", "ซ่อมสร้างผิวทางแอสฟัลท์ติก"],
     ["72", "95"]),
    ("จ้างทำของ/จ้างเหมาบริการ", "services", ["จ้างเหมาทำความสะอาด", "จ้างเหมารักษาความปลอดภัย",
                                              "จ้างซ่อมแซมครุภัณฑ์", "จ้างเหมารถโดยสาร", "จ้างพิมพ์เอกสาร"],
     ["76", "92", "78", "82"]),
    ("เช่า", "services", ["เช่าเครื่องถ่ายเอกสาร", "เช่ารถยนต์", "เช่าพื้นที่จัดเก็บข้อมูล"], ["80", "25"]),
    ("จ้างที่ปรึกษา", "services", ["จ้างที่ปรึกษาออกแบบ", "จ้างที่ปรึกษาควบคุมงาน"], ["81", "80"]),
]
PLANTS = ("at_reference", "above_reference", "deep_discount", "contract_over_award", "reference_over_budget",
          "clustered", "identical_bids", "late_bid", "all_but_winner_disqualified",
          "lowest_disqualified", "short_period", "heavy_discount", "over_direct_limit",
          "masked_big_winner")


class _Gen:
    def __init__(self, projects: int, seed: int):
        self.r = random.Random(seed)
        self.prices = random.Random(f"{seed}-unit-prices")  # see _unit_price
        self.n = projects
        self.now = "2025-10-15T00:00:00+07:00"
        self.ids: set[str] = set()
        self.serials: dict[str, int] = {}
        self._make_agencies()
        self._make_suppliers()
        self.first_fy_start = _dt.date(2022, 10, 1)  # FY2566 .. FY2568
        self.days = (_dt.date(2025, 9, 30) - self.first_fy_start).days

    # --- organisations -------------------------------------------------------------------
    def _make_agencies(self):
        r = self.r
        self.agencies = []  # (id, name_th, name_en, ministry, code, province, weight)
        code = 1000000000
        for ministry, departments in MINISTRIES.items():
            for dept in departments:
                code += r.randint(1, 9999)
                self.agencies.append((str(code), dept, None, ministry, str(code), "กรุงเทพมหานคร", 8.0))
                # provincial offices of big departments
                if r.random() < 0.5:
                    for province in r.sample(PROVINCES[1:], 3):
                        code += r.randint(1, 9999)
                        self.agencies.append((str(code), f"{dept} สำนักงานจังหวัด{province}", None,
                                              ministry, str(code), province, 3.0))
        for province in PROVINCES:
            kinds = [("องค์การบริหารส่วนจังหวัด" + province, 4.0)]
            for _ in range(r.randint(4, 8)):
                place = "".join(r.sample(PLACE_SYLLABLES, 2))
                kinds.append((r.choice(["องค์การบริหารส่วนตำบล", "เทศบาลตำบล", "เทศบาลเมือง"]) + place, 1.5))
            for name, weight in kinds:
                code += r.randint(1, 9999)
                self.agencies.append((str(code), name, None, LOCAL_MINISTRY, str(code), province, weight))
        self.agency_weights = [a[6] for a in self.agencies]

    def _tax_id(self, prefix: str) -> str:
        while True:
            first12 = prefix + "".join(str(self.r.randint(0, 9)) for _ in range(12 - len(prefix)))
            tax_id = first12 + str(tax_id_check_digit(first12))
            if tax_id not in self.ids:
                self.ids.add(tax_id)
                return tax_id

    def _make_suppliers(self):
        r = self.r
        count = max(200, min(60_000, self.n // 6))
        self.suppliers = []  # (id, tax_id, tax_id_raw, status, name_th, name_normalized, province)
        seen: set[str] = set()
        for _ in range(count):
            legal = r.choice(LEGAL)
            name = f"{legal} {''.join(r.sample(COMPANY_WORDS, 2))}{r.choice(['', ' ' + r.choice(PLACE_SYLLABLES)])}"
            if legal == "ห้างหุ้นส่วนจำกัด" and r.random() < 0.05:
                name = "ห้างหุ้นส่วนจำกัด " + name  # doubled legal form, as published
            roll = r.random()
            if legal == "ร้าน" or roll < 0.03:  # natural person: id masked
                raw = self._tax_id(r.choice(["3", "1"]))[:9] + "xxxx"
            elif roll < 0.06:  # Excel-damaged, as in the FY2565-2567 files
                raw = f"{int(self._tax_id('0105')) / 10**11:.5f}".rstrip("0") + "E+11"
            else:
                raw = self._tax_id(r.choice(["0105", "0105", "0103", "0994"]))
            sid, tax_id, status = supplier_id(raw, name)
            if sid in seen:  # same damaged id and same name: one company, as in real data; skip
                continue
            seen.add(sid)
            self.suppliers.append((sid, tax_id, raw, status, name, normalize_name(name),
                                   r.choice(PROVINCES)))
        count = len(self.suppliers)
        # a Zipf-ish preference: some suppliers win everywhere
        self.supplier_weights = [1.0 / (1 + i) ** 0.6 for i in range(count)]
        self.cum_weights = list(_accumulate(self.supplier_weights))
        # cartel rings bid together (co-bidding pairs, cover bids)
        self.rings = [r.sample(range(count), 3) for _ in range(max(3, count // 400))]
        self.cover_bidders = r.sample(range(count), max(3, count // 300))
        # generalists (R048) win often enough to be scored: picked among the busiest suppliers
        self.generalists = r.sample(range(min(count, max(10, count // 50))), max(2, count // 500))
        self.masked = [i for i, s in enumerate(self.suppliers) if s[3] != "ok"]

    def supplier(self) -> int:
        return self.r.choices(range(len(self.suppliers)), cum_weights=self.cum_weights)[0]

    def project_id(self, d: _dt.date) -> str:
        """e-GP style: B.E. year (2 digits) + month of creation + a 7-digit serial."""
        prefix = f"{(d.year + 543) % 100:02d}{d.month:02d}"
        self.serials[prefix] = self.serials.get(prefix, 0) + 1
        return f"{prefix}{self.serials[prefix]:07d}"

    # --- time ----------------------------------------------------------------------------
    def date(self) -> _dt.date:
        """A date with fiscal-year seasonality: a September (year-end) rush, a quiet October."""
        r = self.r
        while True:
            d = self.first_fy_start + _dt.timedelta(days=r.randrange(self.days))
            weight = {9: 1.0, 8: 0.6, 3: 0.55, 10: 0.2, 11: 0.3}.get(d.month, 0.4)
            if r.random() < weight:
                return d


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def generate(db_path, *, projects: int = 50_000, seed: int = 1, force: bool = False) -> None:
    """Write the demo database to ``db_path``, refusing to overwrite real data."""
    path = pathlib.Path(db_path)
    if path.exists():
        if read_meta_file(path, "dataset") != "demo":
            raise UserError(f"{path} holds real (non-demo) data; refusing to overwrite it with demo data")
        if not force:
            raise UserError(f"{path} already exists; pass --force to replace the demo database")
    tmp = path.with_name(path.name + ".demo-tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
        leftover.unlink(missing_ok=True)
    db = open_db(tmp)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        _write(db.conn, _Gen(projects, seed), seed)
        db.execute("PRAGMA journal_mode = DELETE")
        db.close()
        os.replace(tmp, path)
    except BaseException:
        db.close()
        tmp.unlink(missing_ok=True)
        raise
    check = open_db(path)
    assert get_meta(check, "dataset") == "demo"
    check.close()


def _write(conn: sqlite3.Connection, g: _Gen, seed: int) -> None:
    now = g.now
    prov = (SOURCE, None, now, None, now, now)
    conn.execute("BEGIN")
    set_meta_conn(conn, dataset="demo", demo_seed=str(seed), demo_projects=str(g.n),
                  description="DEMO DATA generated by `prongsai demo`: not real records.")
    conn.executemany(_insert("agencies"),
                     [a[:6] + prov for a in g.agencies])
    conn.executemany(_insert("suppliers"),
                     [s[:6] + (None, "TH") + prov for s in g.suppliers])
    _budget_lines(conn, g, prov)
    conn.execute("COMMIT")

    batch: dict[str, list] = {name: [] for name in _INSERTS}
    with progress("demo projects", g.n) as update:
        conn.execute("BEGIN")
        i = 0
        known = KNOWN_CASE_PROJECTS if g.n >= 1000 else 0  # in place of the last random ones
        while i < g.n - known:
            made = _project(g, batch, prov)
            i += made
            if len(batch["projects"]) >= 5000:
                _flush(conn, batch)
                conn.execute("COMMIT")
                conn.execute("BEGIN")
            update(made)
        if known:
            _known_cases(g, batch, prov)
        _flush(conn, batch)
        conn.execute("COMMIT")


def set_meta_conn(conn, **values):
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))


#: The provenance columns that end every public table (``prov`` in ``_write`` fills them).
_PROV = ("source", "source_url", "fetched_at", "content_sha256", "first_seen", "last_seen")
#: table -> the columns the demo's row tuples hold, in their order; a column a later migration adds
#: keeps its default instead of shifting the others.
_COLUMNS = {
    "agencies": ("id", "name_th", "name_en", "ministry", "department_code", "province", *_PROV),
    "suppliers": ("id", "tax_id", "tax_id_raw", "tax_id_status", "name_th", "name_normalized", "name_en", "country",
                  *_PROV),
    "projects": ("project_id", "title", "project_type", "main_procurement_category", "buyer_id",
                 "procuring_entity_id", "sub_agency", "method", "method_group", "method_id_raw", "ocds_method",
                 "fiscal_year", "announce_date", "tender_start", "tender_end", "tender_status", "number_of_tenderers",
                 "budget", "reference_price", "currency", "status", "province", "district", "subdistrict",
                 "location_wkt", *_PROV),
    "items": ("id", "project_id", "item_id", "classification_scheme", "classification_id", "description", "quantity",
              "unit", "unit_value", "currency", *_PROV),
    "bids": ("id", "project_id", "bid_id", "date", "amount", "currency", "status", "is_winner", *_PROV),
    "bid_tenderers": ("bid_id", "supplier_id", "name"),
    "awards": ("id", "project_id", "award_id", "status", "amount", "currency", "date", *_PROV),
    "award_suppliers": ("award_id", "supplier_id"),
    "award_items": ("award_id", "classification_scheme", "classification_id"),
    "contracts": ("id", "project_id", "award_id", "contract_no", "supplier_id", "supplier_name", "award_amount",
                  "contract_amount", "currency", "signed_date", "end_date", "status", *_PROV),
    "announcements": ("id", "project_id", "type", "title", "published_at", "url", "agency_id", *_PROV),
    "budget_items": ("id", "fiscal_year", "level", "ministry", "budgetary_unit", "agency_id", "province", "plan",
                     "output", "project", "category", "description", "amount", "currency", "source_doc",
                     "source_page", *_PROV),
}


def _insert(table: str, verb: str = "INSERT") -> str:
    columns = _COLUMNS[table]
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


#: the tables each project's rows go to, batched; award_items repeats a class within an award.
_INSERTS = {table: _insert(table, "INSERT OR IGNORE" if table == "award_items" else "INSERT")
            for table in ("projects", "items", "bids", "bid_tenderers", "awards", "award_suppliers", "award_items",
                          "contracts", "announcements")}


def _flush(conn, batch):
    for name, rows in batch.items():
        if rows:
            conn.executemany(_INSERTS[name], rows)
            rows.clear()


def _budget_lines(conn, g: _Gen, prov):
    r = g.r
    rows = []
    for fy in (2566, 2567, 2568):
        for ministry, departments in MINISTRIES.items():
            for dept in departments:
                agency = next(a for a in g.agencies if a[1] == dept)
                for plan in ("แผนงานบุคลากรภาครัฐ", "แผนงานพื้นฐาน", "แผนงานยุทธศาสตร์"):
                    for category in ("งบบุคลากร", "งบดำเนินงาน", "งบลงทุน", "งบเงินอุดหนุน"):
                        amount = round(math.exp(r.gauss(18.5, 1.2)), -3)
                        key = f"demo-{fy}-{agency[0]}-{plan}-{category}"
                        rows.append((key, fy, "national", ministry, dept, agency[0], None, plan,
                                     "ผลผลิต: บริการภาครัฐ", None, category, f"{category} ({plan})", amount,
                                     CURRENCY, "demo budget bill", None) + prov)
    conn.executemany(_insert("budget_items"), rows)


def _pick_method(r):
    roll, acc = r.random(), 0.0
    for m in METHODS:
        acc += m[4]
        if roll < acc:
            return m
    return METHODS[0]


def _project(g: _Gen, batch, prov) -> int:
    """Append one project (or a planted group of split purchases) to ``batch``; return how many."""
    r = g.r
    if r.random() < 0.006:
        return _split_group(g, batch, prov)
    method = _pick_method(r)
    plant = r.choice(PLANTS) if r.random() < 0.10 else None
    if plant in ("over_direct_limit",):
        method = METHODS[0]
    elif plant in ("clustered", "identical_bids", "late_bid", "all_but_winner_disqualified",
                   "lowest_disqualified", "short_period", "heavy_discount", "at_reference") \
            and method[3] == "limited":
        method = METHODS[1]
    agency = r.choices(g.agencies, weights=g.agency_weights)[0]
    _emit_project(g, batch, prov, method=method, agency=agency, plant=plant)
    return 1


def _split_group(g: _Gen, batch, prov) -> int:
    """TH10: one agency, one supplier, several direct purchases just under the limit within 90 days."""
    r = g.r
    agency = r.choices(g.agencies, weights=g.agency_weights)[0]
    winner = g.supplier()
    start = g.date()
    count = r.randint(3, 5)
    for k in range(count):
        d = min(start + _dt.timedelta(days=r.randint(0, 80)), _dt.date(2025, 9, 30))
        amount = round(r.uniform(0.90, 0.998) * DIRECT_LIMIT, -2)
        _emit_project(g, batch, prov, method=METHODS[0], agency=agency, plant=None, fixed_date=d,
                      fixed_amount=amount, fixed_winner=winner)
    return count


#: Seeded cases whose truth the tests know (after the random projects, so those stay as they were):
#: a laptop class bought by many agencies at 22-28k baht a unit with two outliers at 3x (TH14), and a
#: closed group of three tenderers taking turns winning one agency's tenders (TH15) beside the same
#: three at another agency where one always wins (no rotation).
PRICE_CLASS, PRICE_UNITS, PRICE_OUTLIER_AGENCIES = "43211503", ("เครื่อง", "เครื่อง.", " เครื่อง "), (3, 4)
ROTATION_AGENCY, STEADY_AGENCY, ROTATION_TENDERS = 5, 6, 6
KNOWN_CASE_PROJECTS = 16 + 2 * ROTATION_TENDERS


def rotation_members(g: _Gen) -> list[int]:
    """The seeded bid-rotation group: three suppliers from the end of the list (rarely drawn at random)."""
    return [len(g.suppliers) - 1, len(g.suppliers) - 2, len(g.suppliers) - 3]


def _known_cases(g: _Gen, batch, prov) -> None:
    r = g.r
    for k in range(KNOWN_CASE_PROJECTS - 2 * ROTATION_TENDERS):
        agency = g.agencies[k]
        price = round(r.uniform(22_000, 28_000), 2) * (3 if k in PRICE_OUTLIER_AGENCIES else 1)
        qty = r.randint(2, 20)
        _emit_project(g, batch, prov, method=METHODS[0], agency=agency, plant=None,
                      fixed_date=_dt.date(2025, 2, 1 + k), fixed_amount=round(price * qty, 2),
                      fixed_items=[(PRICE_CLASS, PRICE_UNITS[k % 3], qty, price)])
    members = rotation_members(g)
    for agency, rotate in ((ROTATION_AGENCY, True), (STEADY_AGENCY, False)):
        for k in range(ROTATION_TENDERS):
            winner = members[k % 3] if rotate else members[0]
            _emit_project(g, batch, prov, method=METHODS[1], agency=g.agencies[agency], plant=None,
                          fixed_date=_dt.date(2025, 3, 1 + 3 * k), fixed_winner=winner,
                          fixed_bidders=[winner] + [m for m in members if m != winner])


#: Unit prices: each item class has its own typical price, fixed by its code (50 to 200,000 baht),
#: and a purchase pays 0.8-1.3x of it; one in 500 pays 2.5-4x, so TH14 fires on a small share of
#: the comparable purchases, as a benchmark against the median should. Drawn from a generator of
#: their own (``_Gen.prices``): every other fact of the demo stays as it was.
PRICE_SPREAD, OVERPRICED_SHARE, OVERPRICED = (0.8, 1.3), 0.002, (2.5, 4.0)


def _unit_price(g: _Gen, classification_id: str) -> float:
    spread = OVERPRICED if g.prices.random() < OVERPRICED_SHARE else PRICE_SPREAD
    # Knuth's multiplicative hash spreads the class codes evenly over [0, 1): a log-uniform typical price
    typical = 50 * 4000 ** (int(classification_id[:6]) * 2654435761 % 2**32 / 2**32)
    return round(typical * g.prices.uniform(*spread), 2)


def _emit_project(g: _Gen, batch, prov, *, method, agency, plant, fixed_date=None,
                  fixed_amount=None, fixed_winner=None, fixed_bidders=None, fixed_items=None):
    r = g.r
    name, group, method_id, ocds_method, _ = method
    competitive = ocds_method != "limited"
    ptype, category, subjects, segments = r.choices(PROJECT_TYPES, weights=[45, 20, 25, 6, 4])[0]
    announce = fixed_date or g.date()
    pid = g.project_id(announce)
    # money: lognormal budgets, reference price near budget
    if fixed_amount is not None:
        budget = fixed_amount
    elif competitive:
        budget = math.exp(r.gauss(14.6 if name.startswith("ประกวด") else 13.3, 1.1))
    else:
        budget = math.exp(r.gauss(10.9, 1.1))
        if budget > DIRECT_LIMIT and plant != "over_direct_limit":
            budget = r.uniform(0.2, 0.95) * DIRECT_LIMIT
    if plant == "over_direct_limit":
        budget = r.uniform(1.2, 4.0) * DIRECT_LIMIT
    budget = round(budget, -2) or 1000.0
    reference = round(budget * r.uniform(0.93, 1.0), 2)
    if plant == "reference_over_budget":
        reference = round(budget * r.uniform(1.05, 1.3), 2)
    subject = r.choice(subjects)
    place = agency[5]
    verb = "" if subject.startswith(("จ้าง", "เช่า")) else ("ซื้อ" if category == "goods" else "จ้าง")
    title = f"{verb}{subject} {agency[1]} จังหวัด{place} โดยวิธี{name.split(' (')[0]}"
    fy = fiscal_year(announce)
    tender_start = announce + _dt.timedelta(days=r.randint(0, 3))
    if competitive:
        period = r.randint(3, 9) if plant == "short_period" else r.randint(15, 35)
        if name.startswith("ตลาด") and plant != "short_period":
            period = r.randint(15, 20)
    else:
        period = r.randint(0, 2)
    tender_end = tender_start + _dt.timedelta(days=period)

    # the winner: repeat winners via Zipf, cosy agency pairs via the agency's own favourite
    if fixed_winner is not None:
        winner = fixed_winner
    elif plant == "masked_big_winner" and g.masked:
        winner = r.choice(g.masked)
        budget = reference = round(r.uniform(3, 20) * 1_000_000, -2)
    elif r.random() < 0.35:
        winner = int(agency[0]) * 7919 % len(g.suppliers)  # this agency's favourite supplier
    else:
        winner = g.supplier()

    # bids
    bidders = [winner]
    if fixed_bidders:
        bidders = list(fixed_bidders)
    elif competitive:
        n = 1 + min(7, int(r.expovariate(0.55)))
        if plant in ("clustered", "identical_bids", "all_but_winner_disqualified", "lowest_disqualified",
                     "heavy_discount", "late_bid") and n < 3:
            n = r.randint(3, 5)
        ring = next((ring for ring in g.rings if winner in ring), None)
        if ring is None and r.random() < 0.04:
            ring = r.choice(g.rings)
        pool = [s for s in (ring or []) if s not in bidders]
        if r.random() < 0.2:
            pool.append(r.choice(g.cover_bidders))
        while len(bidders) < n:
            candidate = pool.pop() if pool else g.supplier()
            if candidate not in bidders:
                bidders.append(candidate)
    ratio = {"at_reference": r.uniform(0.991, 1.0), "above_reference": r.uniform(1.01, 1.08),
             "deep_discount": r.uniform(0.45, 0.68)}.get(plant)
    if ratio is None:
        ratio = r.uniform(0.80, 0.985) if competitive else r.uniform(0.93, 1.0)
    award_amount = round(reference * ratio, 2)
    if fixed_amount is not None:
        award_amount = fixed_amount
    strict = int(agency[0]) % 23 == 0  # a few agencies disqualify most bidders (R038)
    bid_rows = []  # (supplier, amount, status, date)
    bid_day = lambda: tender_start + _dt.timedelta(days=r.randint(0, max(0, period)))  # noqa: E731
    bid_rows.append([winner, award_amount, "valid", bid_day()])
    for s in bidders[1:]:
        if plant == "clustered":
            amount = award_amount * r.uniform(1.001, 1.006)
        elif plant == "heavy_discount":
            amount = award_amount * r.uniform(1.6, 2.2)
        else:
            amount = award_amount * r.uniform(1.08, 1.16)
        status = "disqualified" if r.random() < (0.6 if strict else 0.12) else "valid"
        bid_rows.append([s, round(amount, 2), status, bid_day()])
    if plant == "identical_bids" and len(bid_rows) >= 3:
        bid_rows[2][1] = bid_rows[1][1]
    if plant == "all_but_winner_disqualified":
        for b in bid_rows[1:]:
            b[2] = "disqualified"
    if plant == "lowest_disqualified" and len(bid_rows) >= 2:
        bid_rows[1][1] = round(award_amount * r.uniform(0.80, 0.95), 2)
        bid_rows[1][2] = "disqualified"
    if plant == "late_bid":
        bid_rows[0][3] = tender_end + _dt.timedelta(days=r.randint(1, 5))
    award_date = tender_end + _dt.timedelta(days=r.randint(3, 25) if competitive else r.randint(0, 3))
    award_date = min(award_date, _dt.date(2025, 10, 14))
    contract_amount = award_amount
    if plant == "contract_over_award":
        contract_amount = round(award_amount * r.uniform(1.05, 1.4), 2)

    winner_row = g.suppliers[winner]
    src_url = f"https://demo.prongsai.invalid/projects/{pid}"
    p_prov = (SOURCE, src_url) + prov[2:]
    batch["projects"].append((
        pid, title, ptype, category, agency[0], agency[0], r.choice(["กองคลัง", "งานพัสดุ", "ฝ่ายบริหารทั่วไป", None]),
        name, group, method_id, ocds_method, fy, announce.isoformat(), tender_start.isoformat(),
        tender_end.isoformat(), "complete", len(bid_rows), budget, reference, CURRENCY,
        "จัดทำสัญญา/บริหารสัญญา", place, None, None, None) + p_prov)
    # suppliers keep to their trade (one classification segment per project type)
    specialty = segments[winner % len(segments)]
    classes = [specialty] if r.random() < 0.8 else [specialty, specialty]
    if winner in g.generalists:
        classes = [r.choice([seg for t in PROJECT_TYPES for seg in t[3]])]
    items = fixed_items or []
    for seg in [] if fixed_items else classes:
        cid = f"{seg}{r.randint(10, 99)}{r.randint(0, 9)}000"
        r.randint(1, 200)  # the quantity drawn before unit prices had their own generator: keeps the rest as it was
        price = _unit_price(g, cid)
        items.append((cid, "หน่วย", max(1, round(award_amount / price)), price))
    for k, (cid, unit, qty, unit_value) in enumerate(items, 1):
        batch["items"].append((f"{pid}/{k}", pid, str(k), "UNSPSC", cid, subject, qty, unit, unit_value,
                               CURRENCY) + p_prov)
        batch["award_items"].append((f"{pid}/1", "UNSPSC", cid))
    for k, (s, amount, status, day) in enumerate(bid_rows, 1):
        bid_row_id = f"{pid}/{k}"
        batch["bids"].append((bid_row_id, pid, str(k), day.isoformat(), amount,
                              CURRENCY, status, 1 if k == 1 else 0) + p_prov)
        batch["bid_tenderers"].append((bid_row_id, g.suppliers[s][0], g.suppliers[s][4]))
    batch["awards"].append((f"{pid}/1", pid, "1", "active", award_amount, CURRENCY,
                            award_date.isoformat()) + p_prov)
    batch["award_suppliers"].append((f"{pid}/1", winner_row[0]))
    contract_no = f"{r.choice(['สนอ.', 'ทล.', 'ชป.', 'อบต.'])} {r.randint(1, 400)}/{fy}"
    signed = min(award_date + _dt.timedelta(days=r.randint(1, 14)), _dt.date(2025, 10, 14))
    end = signed + _dt.timedelta(days=r.choice([30, 60, 90, 120, 180, 365]))
    batch["contracts"].append((f"{pid}/1", pid, f"{pid}/1", contract_no, winner_row[0], winner_row[4],
                               award_amount, contract_amount, CURRENCY, signed.isoformat(), end.isoformat(),
                               "ระหว่างดำเนินการ" if end > _dt.date(2025, 10, 1) else "สิ้นสุดสัญญา") + p_prov)
    ann = [("W0", "ประกาศผู้ชนะการเสนอราคา", award_date)]
    if competitive:
        ann = [("15", "ประกาศราคากลาง", announce), ("D0", "ประกาศเชิญชวน", announce)] + ann
    for code, label, day in ann:
        batch["announcements"].append((f"{pid}/{code}", pid, code, f"{label} {title}",
                                       f"{day.isoformat()}T09:00:00+07:00", src_url, agency[0]) + p_prov)
