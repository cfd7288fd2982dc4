"""Datasette's time-limit message in Thai on Thai pages (Thai unless the reader chose English)."""
from __future__ import annotations

#: never finishes: interrupted by the time limit
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


async def _interrupted(datasette, **kwargs):
    datasette._settings["sql_time_limit_ms"] = 50  # the same message as at 3 s, sooner
    return await datasette.client.get("/procurement", params={"sql": ENDLESS}, **kwargs)


async def test_time_limit_message_is_thai_by_default(datasette):
    r = await _interrupted(datasette)
    assert r.status_code == 400
    assert "คำสั่ง SQL ใช้เวลานานเกินไป" in r.text and "0.05 วินาที" in r.text
    assert "took too long" not in r.text
    assert "WITH RECURSIVE c(x)" in r.text  # the query stays there to edit


async def test_time_limit_message_in_english_by_choice(datasette):
    r = await _interrupted(datasette, cookies={"lang": "en"})
    assert r.status_code == 400 and "The SQL query took too long" in r.text and "0.05 seconds" in r.text
    assert "คำสั่ง SQL" not in r.text


async def test_json_keeps_datasettes_own_error(datasette):
    datasette._settings["sql_time_limit_ms"] = 50
    r = await datasette.client.get("/procurement.json", params={"sql": ENDLESS})
    assert r.status_code == 400 and r.json()["title"] == "SQL Interrupted"
