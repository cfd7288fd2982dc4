"""Every red flag Prongsai computes: code, scope, severity, titles and explanation templates.

One list read by the build (``flag_definitions`` table), ``prongsai flags explain`` and the
portal, so a flag is described the same way everywhere. Templates are ``str.format`` strings
filled from the flag's evidence JSON (see :func:`prongsai.derive.flags.explain.explain`).
A flag is a risk signal, never proof of wrongdoing.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    cardinal_code: str | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope.split(","))


_CARDINAL = [
    Flag("R003", "process", "medium", "ระยะเวลายื่นข้อเสนอสั้นผิดปกติ", "Short submission period",
         "เปิดให้ยื่นข้อเสนอเพียง {days} วัน ({tender_start} ถึง {tender_end}) น้อยกว่าเกณฑ์ {threshold} วัน",
         "bids could be submitted for only {days} days ({tender_start} to {tender_end}), "
         "under the threshold of {threshold} days"),
    Flag("R018", "process", "high", "มีผู้เสนอราคาเพียงรายเดียว", "Single bid received",
         "มีผู้เสนอราคาเพียง {number_of_tenderers} รายในการจัดซื้อจัดจ้างแบบ {procurement_method}",
         "only {number_of_tenderers} tenderer took part in this {procurement_method} procedure"),
    Flag("R024", "process,tenderer", "medium", "ราคาเสนออันดับสองใกล้ราคาผู้ชนะผิดปกติ",
         "Price close to winning bid",
         "ราคาเสนอต่ำสุดอันดับสอง {second_amount:,.2f} สูงกว่าราคาผู้ชนะ {winner_amount:,.2f} เพียง {ratio_pct:.2f} % "
         "(เกณฑ์ไม่เกิน {fence_pct:.2f} %)",
         "the second-lowest valid bid ({second_amount:,.2f}) was only {ratio_pct:.2f} % above the winning bid "
         "({winner_amount:,.2f}); the threshold is {fence_pct:.2f} %"),
    Flag("R025", "tenderer", "low", "เสนอราคาแต่แพ้บ่อยผิดปกติ", "Excessive unsuccessful bids",
         "ชนะเพียง {wins} จาก {processes} โครงการที่เสนอราคา ({ratio_pct:.1f} %, เกณฑ์ไม่เกิน {fence_pct:.1f} %)",
         "won only {wins} of the {processes} procedures it bid in ({ratio_pct:.1f} %, threshold "
         "{fence_pct:.1f} %)"),
    Flag("R028", "process,tenderer", "high", "เสนอราคาเท่ากัน", "Identical bid prices",
         "ผู้เสนอราคาต่างรายเสนอราคาเท่ากันทุกสตางค์ที่ {amount:,.2f} {currency}",
         "different tenderers offered exactly the same price: {amount:,.2f} {currency}"),
    Flag("R030", "process,tenderer", "high", "ผู้ชนะยื่นข้อเสนอหลังปิดรับ", "Late bid won",
         "ผู้ชนะยื่นข้อเสนอเมื่อ {bid_date} หลังปิดรับข้อเสนอ {tender_end}",
         "the winner's bid is dated {bid_date}, after the submission deadline of {tender_end}"),
    Flag("R035", "process,tenderer", "high", "ตัดสิทธิ์ผู้เสนอราคาทุกรายยกเว้นผู้ชนะ",
         "All except winning bid disqualified",
         "ผู้เสนอราคาอื่นอีก {disqualified} รายถูกตัดสิทธิ์ทั้งหมด เหลือผู้ชนะเพียงรายเดียว",
         "all {disqualified} other tenderer(s) were disqualified, leaving only the winner"),
    Flag("R036", "process", "medium", "ผู้เสนอราคาต่ำสุดถูกตัดสิทธิ์", "Lowest bid disqualified",
         "ข้อเสนอราคาต่ำสุด {lowest_amount:,.2f} ถูกตัดสิทธิ์ ขณะที่ผู้ชนะเสนอ {lowest_valid_amount:,.2f}",
         "the lowest bid ({lowest_amount:,.2f}) was disqualified; the lowest valid bid was "
         "{lowest_valid_amount:,.2f}"),
    Flag("R038", "buyer,procuring_entity,tenderer", "medium", "ข้อเสนอถูกตัดสิทธิ์บ่อยผิดปกติ",
         "Excessive disqualified bids",
         "ข้อเสนอถูกตัดสิทธิ์ {disqualified} จาก {submitted} รายการ ({ratio_pct:.1f} %, เกณฑ์ {fence_pct:.1f} %)",
         "{disqualified} of {submitted} submitted bids were disqualified ({ratio_pct:.1f} %, threshold "
         "{fence_pct:.1f} %)"),
    Flag("R048", "tenderer", "low", "ผู้ขายขายสินค้าหลากหลายประเภทผิดปกติ", "Heterogeneous supplier",
         "ได้รับงาน {variety} หมวดสินค้า/บริการที่ต่างกันใน {processes} โครงการ (เกณฑ์ {threshold:g} หมวด)",
         "was awarded {variety} different item categories across {processes} procedures "
         "(threshold {threshold:g})"),
    Flag("R058", "process,tenderer", "medium", "ราคาผู้ชนะต่ำกว่ารายอื่นมากผิดปกติ", "Heavily discounted bid",
         "ราคาผู้ชนะ {winner_amount:,.2f} ต่ำกว่าราคาอันดับสอง {second_amount:,.2f} ถึง {ratio_pct:.1f} % "
         "(เกณฑ์ {fence_pct:.1f} %)",
         "the winning bid ({winner_amount:,.2f}) was {ratio_pct:.1f} % below the second-lowest valid bid "
         "({second_amount:,.2f}); the threshold is {fence_pct:.1f} %"),
]

_THAI = [
    Flag("TH01", "process", "medium", "ราคาที่ตกลงใกล้ราคากลาง", "Award just below the reference price",
         "ราคาที่ตกลง {award_amount:,.0f} บาท ต่ำกว่าราคากลางเพียง {pct_below:.1f} %",
         "awarded at {pct_below:.1f} % below the reference price of {reference_price:,.0f} baht"),
    Flag("TH02", "process", "high", "ราคาที่ตกลงสูงกว่าราคากลาง", "Award above the reference price",
         "ราคาที่ตกลง {award_amount:,.0f} บาท สูงกว่าราคากลาง {reference_price:,.0f} บาท อยู่ {pct_above:.1f} %",
         "awarded at {award_amount:,.0f} baht, {pct_above:.1f} % above the reference price of "
         "{reference_price:,.0f} baht"),
    Flag("TH03", "process", "medium", "ราคาที่ตกลงต่ำกว่าราคากลางผิดปกติ", "Award abnormally far below the reference price",
         "ราคาที่ตกลง {award_amount:,.0f} บาท ต่ำกว่าราคากลาง {reference_price:,.0f} บาท ถึง {pct_below:.1f} %",
         "awarded at {award_amount:,.0f} baht, {pct_below:.1f} % below the reference price of "
         "{reference_price:,.0f} baht"),
    Flag("TH04", "process", "high", "มูลค่าสัญญาสูงกว่าราคาที่ตกลง", "Contract amount above the award",
         "มูลค่าสัญญา {contract_amount:,.0f} บาท สูงกว่าราคาที่ตกลง {award_amount:,.0f} บาท อยู่ {pct_above:.1f} %",
         "the contract amount of {contract_amount:,.0f} baht is {pct_above:.1f} % above the agreed price of "
         "{award_amount:,.0f} baht"),
    Flag("TH05", "process", "medium", "ราคากลางสูงกว่างบประมาณ", "Reference price above the budget",
         "ราคากลาง {reference_price:,.0f} บาท สูงกว่างบประมาณ {budget:,.0f} บาท อยู่ {pct_above:.1f} %",
         "the reference price of {reference_price:,.0f} baht is {pct_above:.1f} % above the budget of "
         "{budget:,.0f} baht"),
    Flag("TH06", "process", "medium", "มีผู้เสนอราคาน้อยกว่า 3 ราย", "Fewer than 3 bidders",
         "มีผู้เสนอราคาเพียง {bidders} ราย (น้อยกว่า {min_bidders} ราย) ทั้งที่เป็นวิธี{method}",
         "only {bidders} bidder(s) (fewer than {min_bidders}) in a competitive procedure ({method})"),
    Flag("TH07", "process", "high", "เสนอราคาเกาะกลุ่ม", "Clustered bids",
         "ข้อเสนอ {bids} รายการอยู่ห่างจากราคาผู้ชนะ {winner_amount:,.0f} บาท ไม่เกิน {spread_pct:.2f} %",
         "{bids} bids lie within {spread_pct:.2f} % of the winning bid of {winner_amount:,.0f} baht"),
    Flag("TH08", "tenderer", "medium", "คู่เทียบเสนอราคาด้วยกันบ่อยครั้ง", "Co-bidding pair",
         "เสนอราคาร่วมกับ {partner_id} ใน {together} โครงการ ({share_pct:.0f} % ของโครงการที่เสนอราคา)",
         "bid alongside {partner_id} in {together} procedures ({share_pct:.0f} % of its bids)"),
    Flag("TH09", "process", "low", "จัดซื้อจัดจ้างเฉพาะเจาะจงช่วงสิ้นปีงบประมาณ", "Direct purchase at fiscal-year end",
         "จัดซื้อจัดจ้างโดยวิธีเฉพาะเจาะจงเมื่อ {date} ซึ่งเหลือ {days_to_year_end} วันก่อนสิ้นปีงบประมาณ {fiscal_year}",
         "direct purchase on {date}, {days_to_year_end} days before the end of fiscal year {fiscal_year}"),
    Flag("TH10", "process", "high", "แบ่งซื้อแบ่งจ้าง", "Possible contract splitting",
         "หน่วยงานซื้อจากผู้ขายรายเดียวกันโดยวิธีเฉพาะเจาะจง {count} ครั้งใน {window_days} วัน "
         "รวม {total:,.0f} บาท แต่ละครั้งต่ำกว่าวงเงิน {limit:,.0f} บาท",
         "the agency bought from the same supplier by direct purchase {count} times within {window_days} days, "
         "{total:,.0f} baht in all, each just under the {limit:,.0f} baht limit"),
    Flag("TH11", "buyer", "medium", "ผู้ขายรายเดียวได้งานส่วนใหญ่ของหน่วยงาน", "One supplier takes most of an agency's spending",
         "ผู้ขาย {supplier_id} ได้งาน {share_pct:.0f} % ของมูลค่าที่หน่วยงานจัดซื้อในปีงบประมาณ {fiscal_year} "
         "({supplier_amount:,.0f} จาก {total_amount:,.0f} บาท)",
         "supplier {supplier_id} took {share_pct:.0f} % of the agency's awarded value in fiscal year "
         "{fiscal_year} ({supplier_amount:,.0f} of {total_amount:,.0f} baht)"),
    Flag("TH12", "process", "medium", "จัดซื้อเฉพาะเจาะจงเกินวงเงิน", "Direct purchase above the limit",
         "จัดซื้อจัดจ้างโดยวิธีเฉพาะเจาะจง {amount:,.0f} บาท เกินวงเงิน {limit:,.0f} บาท",
         "direct purchase of {amount:,.0f} baht, above the {limit:,.0f} baht limit"),
    Flag("TH13", "process", "medium", "ผู้ชนะสัญญาใหญ่ไม่มีเลขประจำตัวผู้เสียภาษีที่ตรวจสอบได้",
         "Unverifiable winner identity on a large contract",
         "ผู้ชนะสัญญา {amount:,.0f} บาท มีเลขประจำตัวผู้เสียภาษีแบบ {tax_id_status} ({tax_id_raw})",
         "the winner of a {amount:,.0f} baht contract has a {tax_id_status} tax id ({tax_id_raw})"),
]

for _flag in _CARDINAL:
    object.__setattr__(_flag, "cardinal_code", _flag.code)

FLAGS: dict[str, Flag] = {f.code: f for f in _CARDINAL + _THAI}
CARDINAL_CODES = tuple(f.code for f in _CARDINAL)
THAI_CODES = tuple(f.code for f in _THAI)
