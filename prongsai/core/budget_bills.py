"""The documents of each year's budget bill, as the community extraction publishes them.

Shared by the budget scraper (which files to fetch) and the reconciliation in ``prongsai check``
(which documents a gap is missing), so both read one list.
"""
from __future__ import annotations

#: fiscal year (B.E.) -> the bill's documents (เอกสารงบประมาณ ฉบับที่ 3, one per เล่ม or part of one)
#: by REF_DOC (``<CE year>.<ฉบับ>.<เล่ม>``), with the ministries each holds. Source:
#: kaogeek/thailand-budget-pdf2csv at 6a39e7db, csv-extraction/napatswift-coordintes/output/
#: (24 files for 17 volumes); the ministries are those of the documents' own MINISTRY column.
BILL_DOCUMENTS: dict[int, dict[str, str]] = {
    2565: {
        "2022.3.1": "งบกลาง, สำนักนายกรัฐมนตรี, กระทรวงกลาโหม",
        "2022.3.2": "กระทรวงการคลัง, กระทรวงการต่างประเทศ, กระทรวงการท่องเที่ยวและกีฬา, "
                    "กระทรวงการพัฒนาสังคมและความมั่นคงของมนุษย์",
        **{f"2022.3.3({n})": f"กระทรวงการอุดมศึกษา วิทยาศาสตร์ วิจัยและนวัตกรรม ({n})" for n in range(1, 6)},
        "2022.3.4": "กระทรวงเกษตรและสหกรณ์",
        "2022.3.5": "กระทรวงคมนาคม (the extraction's output_example_v2.csv), "
                    "กระทรวงดิจิทัลเพื่อเศรษฐกิจและสังคม (by the volumes' order)",
        "2022.3.6": "กระทรวงทรัพยากรธรรมชาติและสิ่งแวดล้อม",
        "2022.3.7": "กระทรวงพลังงาน, กระทรวงพาณิชย์",
        "2022.3.8": "กระทรวงมหาดไทย (by the volumes' order)",
        "2022.3.9": "กระทรวงยุติธรรม, กระทรวงแรงงาน, กระทรวงวัฒนธรรม",
        "2022.3.10": "กระทรวงศึกษาธิการ",
        "2022.3.11": "กระทรวงสาธารณสุข",
        "2022.3.12": "กระทรวงอุตสาหกรรม, ส่วนราชการไม่สังกัดสำนักนายกรัฐมนตรี กระทรวง หรือทบวง",
        "2022.3.13(1)": "จังหวัดและกลุ่มจังหวัด (1)",
        "2022.3.13(2)": "จังหวัดและกลุ่มจังหวัด (2)",
        "2022.3.14": "รัฐวิสาหกิจ",
        "2022.3.15": "หน่วยงานของรัฐสภา, หน่วยงานของศาล, หน่วยงานขององค์กรอิสระและองค์กรอัยการ",
        **{f"2022.3.16({n})": f"องค์กรปกครองส่วนท้องถิ่น ({n})" for n in range(1, 4)},
        "2022.3.17": "หน่วยงานอื่นของรัฐ, สภากาชาดไทย, ส่วนราชการในพระองค์",
    },
}
#: Documents the extraction lists but publishes without content (files over GitHub's 4 MiB preview,
#: never committed): no CSV to load, so a gap they leave stays until another source has them.
WITHOUT_CSV = frozenset({"2022.3.5", "2022.3.8"})


def file_name(ref_doc: str) -> str:
    """``2022.3.3(1)`` -> ``2022-3-3(1).csv``, the extraction's file for that document."""
    return ref_doc.replace(".", "-") + ".csv"
