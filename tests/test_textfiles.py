"""What a scraper says about bytes that are not the encoding its source uses, and bounded CSV rows."""
from __future__ import annotations

import io

import pytest

from scrapers import egp
from scrapers.store import ScrapeError
from scrapers.textfiles import MAX_LINE, bounded_lines, csv_rows, utf8_problem

THAI = "ประกาศผู้ชนะการเสนอราคา ถนนลาดยาง ๑,๖๓๘,๓๐๓.๗๕ บาท\n" * 20


def test_utf8_split_across_blocks_is_utf8():
    data = THAI.encode()
    assert utf8_problem([data[:7], data[7:8], data[8:]]) is None  # blocks cut inside characters


def test_utf8_cut_mid_character_is_truncated_at_its_offset():
    data = THAI.encode()[:-2]  # "บาท\n" loses "\n" and the last byte of ท
    found = utf8_problem([data[:100], data[100:]])
    assert found.startswith(f"text that ends in the middle of a UTF-8 character at byte {len(data) - 2:,}")
    assert "truncated" in found and "cp874" not in found


def test_tis620_thai_is_recognised_and_only_then_cp874_suggested():
    found = utf8_problem([THAI.encode("cp874")])
    assert found.startswith("TIS-620 (cp874) Thai text (byte 0xBB at byte 0 is not UTF-8")
    assert "iconv -f cp874 -t utf-8" in found
    stray = THAI.encode()[:30] + b"\xa1" + THAI.encode()[30:]  # one TIS-620 byte in UTF-8 Thai
    assert utf8_problem([stray]) == "byte 0xA1 at byte 30 is not UTF-8 (invalid start byte)"


def test_egp_json_cut_mid_character_says_so():
    body = '{"data": {"data": [{"projectName": "ถนนลาดยาง"}]}}'.encode()
    cut = body[:body.index("ง".encode()) + 1]
    with pytest.raises(egp.EncodingError, match=r"expected utf-8 text, found text that ends in the middle "
                                                rf"of a UTF-8 character at byte {len(cut) - 1:,}"):
        egp.decode(cut, "utf-8", source="egp-json", location="x.json")


def test_egp_feed_in_tis620_where_utf8_was_declared():
    with pytest.raises(egp.EncodingError, match=r"found TIS-620 \(cp874\) Thai text"):
        egp.decode(THAI.encode("cp874"), "utf-8", source="egp-rss", location="feed.xml")


def test_egp_tis620_page_with_an_undefined_byte_names_it():
    data = THAI.encode("cp874") + b"\xfc"
    with pytest.raises(egp.EncodingError, match=rf"byte 0xFC at byte {len(data) - 1:,}, which is not windows-874"):
        egp.decode(data, "windows-874", source="egp-html", location="page.html")


def test_bounded_lines_stop_at_the_line_limit_without_reading_on():
    text = io.StringIO("a,b\n" + "x" * (MAX_LINE + 10) + "\nnever read\n")
    rows = csv_rows(bounded_lines(text), source="s", location="f.csv", expected="a test CSV")
    assert next(rows) == ["a", "b"]
    with pytest.raises(ScrapeError, match=r"^s: f.csv: row 2: a line is longer than 4,194,304 characters — "
                                          r"is this a test CSV\?$"):
        next(rows)
    assert text.tell() <= 4 + MAX_LINE + 1

