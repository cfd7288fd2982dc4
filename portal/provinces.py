"""A tile-grid map of Thailand's 77 provinces (our own layout: one square per province).

Positions follow each provincial capital's latitude and longitude, spread so no two tiles
overlap and the south is drawn compactly. Drawn in HTML/CSS, so it works without JavaScript.
"""
from __future__ import annotations

#: province (Thai name as in ``projects.province``) -> (row, column)
TILES: dict[str, tuple[int, int]] = {
    "เชียงราย": (0, 2),
    "แม่ฮ่องสอน": (1, 0),
    "พะเยา": (1, 3),
    "เชียงใหม่": (2, 1),
    "น่าน": (2, 4),
    "ลำพูน": (3, 1),
    "ลำปาง": (3, 2),
    "แพร่": (3, 3),
    "หนองคาย": (3, 7),
    "บึงกาฬ": (3, 8),
    "อุตรดิตถ์": (4, 3),
    "เลย": (4, 5),
    "หนองบัวลำภู": (4, 6),
    "อุดรธานี": (4, 7),
    "นครพนม": (4, 10),
    "ตาก": (5, 1),
    "สุโขทัย": (5, 2),
    "พิจิตร": (5, 3),
    "พิษณุโลก": (5, 4),
    "สกลนคร": (5, 9),
    "กำแพงเพชร": (6, 2),
    "นครสวรรค์": (6, 3),
    "เพชรบูรณ์": (6, 4),
    "ขอนแก่น": (6, 7),
    "กาฬสินธุ์": (6, 8),
    "มุกดาหาร": (6, 10),
    "อุทัยธานี": (7, 2),
    "สิงห์บุรี": (7, 3),
    "ชัยภูมิ": (7, 6),
    "มหาสารคาม": (7, 7),
    "ร้อยเอ็ด": (7, 8),
    "ยโสธร": (7, 9),
    "อำนาจเจริญ": (7, 10),
    "ชัยนาท": (8, 2),
    "อ่างทอง": (8, 3),
    "สระบุรี": (8, 4),
    "ลพบุรี": (8, 5),
    "นครราชสีมา": (8, 6),
    "บุรีรัมย์": (8, 7),
    "สุรินทร์": (8, 8),
    "ศรีสะเกษ": (8, 9),
    "อุบลราชธานี": (8, 10),
    "นครปฐม": (9, 2),
    "สุพรรณบุรี": (9, 3),
    "พระนครศรีอยุธยา": (9, 4),
    "นครนายก": (9, 5),
    "สระแก้ว": (9, 6),
    "กาญจนบุรี": (10, 1),
    "สมุทรสาคร": (10, 2),
    "นนทบุรี": (10, 3),
    "ปทุมธานี": (10, 4),
    "ฉะเชิงเทรา": (10, 5),
    "ปราจีนบุรี": (10, 6),
    "ราชบุรี": (11, 2),
    "กรุงเทพมหานคร": (11, 3),
    "สมุทรปราการ": (11, 4),
    "ชลบุรี": (11, 5),
    "เพชรบุรี": (12, 2),
    "สมุทรสงคราม": (12, 3),
    "ระยอง": (12, 5),
    "จันทบุรี": (12, 6),
    "ตราด": (12, 7),
    "ประจวบคีรีขันธ์": (13, 2),
    "ชุมพร": (14, 2),
    "ระนอง": (15, 1),
    "สุราษฎร์ธานี": (15, 2),
    "พังงา": (16, 1),
    "กระบี่": (16, 2),
    "นครศรีธรรมราช": (16, 3),
    "ภูเก็ต": (17, 1),
    "ตรัง": (17, 2),
    "พัทลุง": (17, 3),
    "สตูล": (18, 2),
    "สงขลา": (18, 3),
    "ปัตตานี": (18, 4),
    "ยะลา": (19, 3),
    "นราธิวาส": (19, 4),
}
ROWS = 1 + max(r for r, _ in TILES.values())
COLUMNS = 1 + max(c for _, c in TILES.values())
BINS = 5


def tile_map(values: dict[str, float]) -> list[dict]:
    """One dict per province with its grid place, value and colour class (quantile bin 0..4)."""
    ordered = sorted(v for v in values.values() if v)
    cuts = [ordered[len(ordered) * k // BINS] for k in range(1, BINS)] if ordered else []
    tiles = []
    for province, (row, column) in TILES.items():
        value = values.get(province) or 0
        level = sum(value >= cut for cut in cuts) if value else -1
        tiles.append({"province": province, "row": row + 1, "column": column + 1,
                      "value": value, "level": level})
    return tiles
