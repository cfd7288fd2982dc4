"""Every red flag Prongsai computes, each in one definition: code, scope, severity, the facts it
needs, its default settings, its Thai and English texts and its doc paragraph.

The settings (``settings.THAI_DEFAULTS``, the rendered ``thai-flags.ini``, Cardinal's defaults in
``cardinal``), ``docs/red-flags.md``'s flag sections (``docs``), the build's ``flag_definitions``
table, ``prongsai flags explain`` and the portal's flag pages all come from here, so a flag is
described the same way everywhere. Templates are ``str.format`` strings filled from the flag's
evidence JSON (see :func:`prongsai.derive.flags.explain.explain`). A flag is a risk signal, never
proof of wrongdoing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DISCLAIMER = {
    "th": "ธงแดงเป็นสัญญาณความเสี่ยง ไม่ใช่หลักฐานการทุจริต",
    "en": "A red flag is a risk signal, not proof of wrongdoing.",
}

#: Weight of one raised flag in the risk score (see ``prongsai.derive.flags.scores``).
SEVERITY_WEIGHTS = {"high": 0.45, "medium": 0.25, "low": 0.10}


@dataclass(frozen=True)
class Flag:
    code: str
    scope: str                 # comma-separated: process, buyer, procuring_entity, tenderer
    severity: str              # low / medium / high
    title_th: str
    title_en: str
    explanation_th: str        # templates over the evidence keys
    explanation_en: str
    #: the facts a project (or organisation) must have for the flag to be testable: ``applicability.FACTS``
    needs: tuple[str, ...] = ()
    #: default settings; for Cardinal's indicators Cardinal's own (a fence when a threshold is absent)
    defaults: dict = field(default_factory=dict)
    #: the paragraph of ``docs/red-flags.md`` and the comment of the settings file (Markdown)
    doc: str = ""
    cardinal_code: str | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope.split(","))


_CARDINAL = [
    Flag("R003", "process", "medium", "ระยะเวลายื่นข้อเสนอสั้นผิดปกติ", "Short submission period",
         "เปิดให้ยื่นข้อเสนอเพียง {days} วัน ({tender_start} ถึง {tender_end}) น้อยกว่าเกณฑ์ {threshold} วัน",
         "bids could be submitted for only {days} days ({tender_start} to {tender_end}), "
         "under the threshold of {threshold} days",
         needs=('tender_period',), defaults={"threshold": 15},
         doc=(
         'Short submission period: the tender period (tender_start to tender_end, whole days) is shorter '
         "than `threshold` days, or than the days set for the procedure's method in "
         "`[R003.procurement_method_details]`. Prongsai's settings check only open and selective "
         'procedures: Thai direct purchases have no public submission period.')),
    Flag("R018", "process", "high", "มีผู้เสนอราคาเพียงรายเดียว", "Single bid received",
         "มีผู้เสนอราคาเพียง {number_of_tenderers} รายในการจัดซื้อจัดจ้างโดยวิธี{procurement_method}",
         "only {number_of_tenderers} tenderer took part in a procedure by the {procurement_method} method",
         needs=('number_of_tenderers',), defaults={"procurement_methods": 'open|selective'},
         doc=(
         'Single bid received: exactly one tenderer took part (`number_of_tenderers` = 1) in a procedure '
         'of one of `procurement_methods`.')),
    Flag("R024", "process,tenderer", "medium", "ราคาเสนออันดับสองใกล้ราคาผู้ชนะผิดปกติ",
         "Price close to winning bid",
         "ราคาเสนอต่ำสุดอันดับสอง {second_amount} สูงกว่าราคาผู้ชนะ {winner_amount} เพียง {ratio_pct} "
         "(เกณฑ์ไม่เกิน {fence_pct})",
         "the second-lowest valid bid ({second_amount}) was only {ratio_pct} above the winning bid "
         "({winner_amount}); the threshold is {fence_pct}",
         needs=('bids', 'winner'), defaults={},
         doc=(
         'Price close to winning bid: the second-lowest valid bid is within `threshold` (a ratio) of the '
         'winning bid; without a threshold, the lower fence Q1 - 1.5 IQR of all such ratios in the '
         'database. The winner and the second bidder are flagged as tenderers too.')),
    Flag("R025", "tenderer", "low", "เสนอราคาแต่แพ้บ่อยผิดปกติ", "Excessive unsuccessful bids",
         "ชนะเพียง {wins} จาก {processes} โครงการที่เสนอราคา (คิดเป็น {ratio_pct} เกณฑ์ไม่เกิน {fence_pct})",
         "won only {wins} of the {processes} procedures it bid in ({ratio_pct}, threshold "
         "{fence_pct})",
         needs=('tenderers',), defaults={"percentile": 75},
         doc=(
         'Excessive unsuccessful bids: a tenderer whose number of bids is above the `percentile` of all '
         'tenderers wins a share of them below `threshold` (default: the lower fence of all win ratios).')),
    Flag("R028", "process,tenderer", "high", "เสนอราคาเท่ากัน", "Identical bid prices",
         "ผู้เสนอราคาต่างรายเสนอราคาเท่ากันทุกสตางค์ที่ {amount}",
         "different tenderers offered exactly the same price: {amount}",
         needs=('bids',), defaults={},
         doc=(
         'Identical bid prices: different tenderers offered exactly the same price in one procedure.')),
    Flag("R030", "process,tenderer", "high", "ผู้ชนะยื่นข้อเสนอหลังปิดรับ", "Late bid won",
         "ผู้ชนะยื่นข้อเสนอเมื่อ {bid_date} หลังปิดรับข้อเสนอ {tender_end}",
         "the winner's bid is dated {bid_date}, after the submission deadline of {tender_end}",
         needs=('bids', 'tender_period', 'winner'), defaults={},
         doc=(
         "Late bid won: the winner's valid bid is dated after the end of the tender period (date strings "
         'compared as Cardinal does).')),
    Flag("R035", "process,tenderer", "high", "ตัดสิทธิ์ผู้เสนอราคาทุกรายยกเว้นผู้ชนะ",
         "All except winning bid disqualified",
         "ผู้เสนอราคาอื่นอีก {disqualified} รายถูกตัดสิทธิ์ทั้งหมด เหลือผู้ชนะเพียงรายเดียว",
         "all {disqualified} other tenderer(s) were disqualified, leaving only the winner",
         needs=('bids', 'winner'), defaults={"threshold": 1},
         doc=(
         'All except winning bid disqualified: at least `threshold` other tenderers bid and every one of '
         'them was disqualified.')),
    Flag("R036", "process", "medium", "ผู้เสนอราคาต่ำสุดถูกตัดสิทธิ์", "Lowest bid disqualified",
         "ข้อเสนอราคาต่ำสุด {lowest_amount} ถูกตัดสิทธิ์ ขณะที่ข้อเสนอต่ำสุดที่ผ่านเกณฑ์คือ {lowest_valid_amount}",
         "the lowest bid ({lowest_amount}) was disqualified; the lowest valid bid was "
         "{lowest_valid_amount}",
         needs=('bids', 'winner'), defaults={},
         doc=(
         'Lowest bid disqualified: the lowest submitted bid was disqualified while a higher one won.')),
    Flag("R038", "buyer,procuring_entity,tenderer", "medium", "ข้อเสนอถูกตัดสิทธิ์บ่อยผิดปกติ",
         "Excessive disqualified bids",
         "ข้อเสนอถูกตัดสิทธิ์ {disqualified} จาก {submitted} รายการ (คิดเป็น {ratio_pct} ขณะที่เกณฑ์คือ {fence_pct})",
         "{disqualified} of {submitted} submitted bids were disqualified ({ratio_pct}, threshold "
         "{fence_pct})",
         needs=('tenderers', 'buyers', 'procuring_entities'), defaults={"minimum_submitted_bids": 2, "minimum_contracting_processes": 2},
         doc=(
         'Excessive disqualified bids: a buyer, procuring entity or tenderer with at least '
         '`minimum_submitted_bids` bids in `minimum_contracting_processes` procedures has a disqualified '
         'share above `threshold` (default: the upper fence Q3 + 1.5 IQR, per organisation type).')),
    Flag("R048", "tenderer", "low", "ผู้ขายขายสินค้าหลากหลายประเภทผิดปกติ", "Heterogeneous supplier",
         "ได้รับงาน {variety} หมวดสินค้า/บริการที่ต่างกันใน {processes} โครงการ (เกณฑ์ {threshold} หมวด)",
         "was awarded {variety} different item categories across {processes} procedures "
         "(threshold {threshold})",
         needs=('suppliers',), defaults={"digits": 2, "minimum_contracting_processes": 20},
         doc=(
         'Heterogeneous supplier: a supplier awarded in at least `minimum_contracting_processes` '
         'procedures sells items of more distinct classes (the first `digits` digits of the '
         'classification) than `threshold` (default: the upper fence Q3 + 1.5 IQR).')),
    Flag("R058", "process,tenderer", "medium", "ราคาผู้ชนะต่ำกว่ารายอื่นมากผิดปกติ", "Heavily discounted bid",
         "ราคาผู้ชนะ {winner_amount} ต่ำกว่าราคาอันดับสอง {second_amount} ถึง {ratio_pct} "
         "(เกณฑ์ {fence_pct})",
         "the winning bid ({winner_amount}) was {ratio_pct} below the second-lowest valid bid "
         "({second_amount}); the threshold is {fence_pct}",
         needs=('bids', 'winner'), defaults={},
         doc=(
         'Heavily discounted bid: the winning bid is below the second-lowest valid bid by more than '
         '`threshold` (a ratio; default: the upper fence Q3 + 1.5 IQR of all such ratios in the database).')),
]

_THAI = [
    Flag("TH01", "process", "medium", "ราคาที่ตกลงใกล้ราคากลาง", "Award just below the reference price",
         "ราคาที่ตกลง {award_amount} ต่ำกว่าราคากลาง {reference_price} เพียง {pct_below}",
         "awarded at {award_amount}, only {pct_below} below the reference price of {reference_price}",
         needs=('award_amount', 'reference_price'), defaults={"max_pct_below": 1.0, "procurement_methods": 'open|selective'},
         doc=(
         "Award 0 to `max_pct_below` % below the reference price (ราคากลาง), ACT Ai's "
         '"เสนอราคาใกล้ราคากลาง": 0 <= (reference - award) / reference * 100 <= max_pct_below. Direct '
         'purchases are usually agreed at the reference price, so only competitive methods.')),
    Flag("TH02", "process", "high", "ราคาที่ตกลงสูงกว่าราคากลาง", "Award above the reference price",
         "ราคาที่ตกลง {award_amount} สูงกว่าราคากลาง {reference_price} อยู่ {pct_above}",
         "awarded at {award_amount}, {pct_above} above the reference price of "
         "{reference_price}",
         needs=('award_amount', 'reference_price'), defaults={"min_pct_above": 0.0},
         doc=(
         'Award above the reference price: (award - reference) / reference * 100 > `min_pct_above`.')),
    Flag("TH03", "process", "medium", "ราคาที่ตกลงต่ำกว่าราคากลางผิดปกติ", "Award abnormally far below the reference price",
         "ราคาที่ตกลง {award_amount} ต่ำกว่าราคากลาง {reference_price} ถึง {pct_below}",
         "awarded at {award_amount}, {pct_below} below the reference price of "
         "{reference_price}",
         needs=('award_amount', 'reference_price'), defaults={"min_pct_below": 30.0},
         doc=(
         'Award abnormally far below the reference price (Prozorro sas-3-6, ACT Ai '
         '"ต่ำกว่าราคากลางผิดปกติ"): (reference - award) / reference * 100 >= `min_pct_below`.')),
    Flag("TH04", "process", "high", "มูลค่าสัญญาสูงกว่าราคาที่ตกลง", "Contract amount above the award",
         "มูลค่าสัญญา {contract_amount} สูงกว่าราคาที่ตกลง {award_amount} อยู่ {pct_above}",
         "the contract amount of {contract_amount} is {pct_above} above the agreed price of "
         "{award_amount}",
         needs=('contract_amounts',), defaults={"min_pct_above": 0.0},
         doc=(
         'Contract amount above the agreed price (ACT Ai "มูลค่าสัญญาสูงกว่าราคาประมูลชนะ"): (contract - '
         'award) / award * 100 > `min_pct_above`, for any THB contract of the project.')),
    Flag("TH05", "process", "medium", "ราคากลางสูงกว่างบประมาณ", "Reference price above the budget",
         "ราคากลาง {reference_price} สูงกว่างบประมาณ {budget} อยู่ {pct_above}",
         "the reference price of {reference_price} is {pct_above} above the budget of "
         "{budget}",
         needs=('reference_price', 'budget'), defaults={"min_pct_above": 0.0},
         doc=(
         'Reference price above the budget: (reference - budget) / budget * 100 > `min_pct_above`.')),
    Flag("TH06", "process", "medium", "มีผู้เสนอราคาน้อยกว่า 3 ราย", "Fewer than 3 bidders",
         "มีผู้เสนอราคาเพียง {bidders} ราย (น้อยกว่า {min_bidders} ราย) ทั้งที่เป็นวิธี{method}",
         "only {bidders} bidder(s), fewer than {min_bidders}, in a competitive procedure: {method}",
         needs=('bidders',), defaults={"min_bidders": 3, "procurement_methods": 'open|selective'},
         doc=(
         'Fewer than `min_bidders` distinct bidders (from the bids, else numberOfTenderers) in a procedure '
         'of one of `procurement_methods`.')),
    Flag("TH07", "process", "high", "เสนอราคาเกาะกลุ่ม", "Clustered bids",
         "ข้อเสนอ {bids} รายการอยู่ห่างจากราคาผู้ชนะ {winner_amount} ไม่เกิน {spread_pct}",
         "{bids} bids lie within {spread_pct} of the winning bid of {winner_amount}",
         needs=('bids', 'winner'), defaults={"max_spread_pct": 1.0, "min_bids": 3},
         doc=(
         'Clustered bids: at least `min_bids` bids from distinct tenderers, every one within '
         '`max_spread_pct` % of the winning bid (|bid - winning bid| / winning bid * 100 <= '
         'max_spread_pct).')),
    Flag("TH08", "tenderer", "medium", "คู่เทียบเสนอราคาด้วยกันบ่อยครั้ง", "Co-bidding pair",
         "เสนอราคาร่วมกับ {partner_id} ใน {together} โครงการ ({share_pct} ของโครงการที่เสนอราคา)",
         "bid alongside {partner_id} in {together} procedures ({share_pct} of its bids)",
         needs=('tenderers',), defaults={"min_together": 5, "min_share_pct": 50.0, "edge_min_together": 2},
         doc=(
         'Co-bidding pair (tenderer): two suppliers bid in the same procedure at least `min_together` '
         'times, and that is at least `min_share_pct` % of the procedures of the less active of the two. '
         'The same count builds `cobid_edges`: every pair that met at least `edge_min_together` times, '
         'with who won when they met.')),
    Flag("TH09", "process", "low", "จัดซื้อจัดจ้างเฉพาะเจาะจงช่วงสิ้นปีงบประมาณ", "Direct purchase at fiscal-year end",
         "จัดซื้อจัดจ้างโดยวิธีเฉพาะเจาะจงเมื่อ {date} ซึ่งเหลือ {days_to_year_end} วันก่อนสิ้นปีงบประมาณ {fiscal_year}",
         "direct purchase on {date}, {days_to_year_end} days before the end of fiscal year {fiscal_year}",
         needs=('date',), defaults={"last_days": 30, "procurement_methods": 'limited'},
         doc=(
         'Direct purchase in the last `last_days` days of the fiscal year (which ends on 30 September; 30 '
         '= 1-30 September).')),
    Flag("TH10", "process", "high", "แบ่งซื้อแบ่งจ้าง", "Possible contract splitting",
         "หน่วยงานซื้อจากผู้ขายรายเดียวกันโดยวิธีเฉพาะเจาะจง {count} ครั้งใน {window_days} วัน "
         "รวม {total} แต่ละครั้งต่ำกว่าวงเงิน {limit}",
         "the agency bought from the same supplier by direct purchase {count} times within {window_days} days, "
         "{total} in all, each just under the limit of {limit}",
         needs=('buyer', 'winner', 'award_amount', 'date'), defaults={"limit": 500000.0, "band_pct": 20.0, "window_days": 90, "min_count": 3, "procurement_methods": 'limited'},
         doc=(
         'Splitting: one agency buys from one supplier by direct purchase at least `min_count` times '
         'within `window_days` days (inclusive), each award in [limit * (1 - band_pct / 100), limit) and '
         'the total above `limit` (the เฉพาะเจาะจง limit).')),
    Flag("TH11", "buyer", "medium", "ผู้ขายรายเดียวได้งานส่วนใหญ่ของหน่วยงาน", "One supplier takes most of an agency's spending",
         "ผู้ขาย {supplier_id} ได้งาน {share_pct} ของมูลค่าที่หน่วยงานจัดซื้อในปีงบประมาณ {fiscal_year} "
         "({supplier_amount} จาก {total_amount})",
         "supplier {supplier_id} took {share_pct} of the agency's awarded value in fiscal year "
         "{fiscal_year} ({supplier_amount} of {total_amount})",
         needs=('buyers',), defaults={"min_share_pct": 50.0, "min_total": 1000000.0, "min_projects": 5},
         doc=(
         "One supplier takes at least `min_share_pct` % of an agency's awarded value in a fiscal year "
         '(buyer), when the agency awarded at least `min_total` baht in at least `min_projects` projects '
         'that year.')),
    Flag("TH12", "process", "medium", "จัดซื้อเฉพาะเจาะจงเกินวงเงิน", "Direct purchase above the limit",
         "จัดซื้อจัดจ้างโดยวิธีเฉพาะเจาะจง {amount} เกินวงเงิน {limit}",
         "direct purchase of {amount}, above the limit of {limit}",
         needs=('award_or_budget',), defaults={"limit": 500000.0, "procurement_methods": 'limited'},
         doc=(
         'Direct purchase above the limit: the award (else the budget) is above `limit` baht.')),
    Flag("TH13", "process", "medium", "ผู้ชนะสัญญาใหญ่ไม่มีเลขประจำตัวผู้เสียภาษีที่ตรวจสอบได้",
         "Unverifiable winner identity on a large contract",
         "ผู้ชนะสัญญา {amount} มีเลขประจำตัวผู้เสียภาษีที่{tax_id_status}{tax_id_raw}",
         "the winner of a contract of {amount} has a tax id {tax_id_status}{tax_id_raw}",
         needs=('winner', 'award_amount'), defaults={"min_amount": 5000000.0},
         doc=(
         'A winner with a masked, invalid or missing tax id on a contract of at least `min_amount` baht. '
         'A tax id a spreadsheet damaged in the source file (`3.0556E+11`) is the publisher\'s error, not a '
         'sign about the winner: it is a data-quality note on the project page, never this flag, and '
         '`prongsai/derive/reconcile.py` joins such a supplier to its undamaged twin where the name is unambiguous.')),
    Flag("TH14", "process", "medium", "ราคาต่อหน่วยสูงกว่าค่ากลางของหน่วยงานอื่นมาก", "Unit price far above other agencies'",
         "ราคาต่อหน่วย {unit_price} ต่อ{unit} สูงกว่าค่ามัธยฐาน {median} ของการซื้อที่เทียบกันได้ "
         "{comparable} รายการ (รหัสหมวดสินค้า {item_class} ปีงบประมาณ {fiscal_year}) {ratio} เท่า",
         "unit price of {unit_price} per {unit}, {ratio} times the median of {median} "
         "over {comparable} comparable purchases (class {item_class}, fiscal year {fiscal_year})",
         needs=("unit_price",), defaults={"min_ratio": 2.0, "min_comparable": 10, "digits": 6},
         doc=("Unit price far above the median (Dozorro's and Serenata de Amor's price comparison): an item's "
              "unit price is above `min_ratio` times the median unit price of the purchases of the same item "
              "class (the first `digits` digits of its UNSPSC code), the same normalised unit (ชุด, เครื่อง, ตัว, "
              "กก. ...) and the same fiscal year, when there are at least `min_comparable` of them. The medians "
              "and spreads are in `unit_price_benchmarks`.")),
    Flag("TH15", "buyer", "high", "กลุ่มผู้เสนอราคาผลัดกันชนะ", "Bid rotation",
         "ผู้เสนอราคากลุ่มเดียวกัน {members_count} ราย เสนอราคาร่วมกันใน {tenders} โครงการของหน่วยงานนี้ "
         "และผลัดกันชนะ ({winners} รายเคยชนะ ไม่มีรายใดชนะเกิน {max_wins} ครั้ง)",
         "the same {members_count} tenderers bid together in {tenders} of this agency's tenders and took "
         "turns winning ({winners} of them won, none more than {max_wins} times)",
         needs=("buyers_with_bids",), defaults={"min_tenders": 4, "min_members": 3, "max_win_share_pct": 50.0},
         doc=("Bid rotation (buyer): a closed group of at least `min_members` tenderers, always the same set, "
              "bid together in at least `min_tenders` of one agency's tenders, and they take turns winning: "
              "every member wins at least once and none wins more than `max_win_share_pct` % of them.")),
]

for _flag in _CARDINAL:
    object.__setattr__(_flag, "cardinal_code", _flag.code)

FLAGS: dict[str, Flag] = {f.code: f for f in _CARDINAL + _THAI}
CARDINAL_CODES = tuple(f.code for f in _CARDINAL)
THAI_CODES = tuple(f.code for f in _THAI)
