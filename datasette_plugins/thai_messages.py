"""Datasette's time-limit message in the reader's language: Thai unless they chose English.

The language follows the portal's rule (``portal/i18n.py``): ``?lang=`` or the ``lang`` cookie the
portal sets, else Thai. Only the HTML page changes; a ``.json`` answer keeps Datasette's own
error, which scripts may already read.
"""
from __future__ import annotations

import re

from datasette import Response, hookimpl
from datasette.views.base import DatasetteError
from markupsafe import Markup, escape

INTERRUPTED = "SQL Interrupted"
_SQL = re.compile(r"(?s)<textarea[^>]*>(.*?)</textarea>")

TEXT = {
    "th": {"title": "คำสั่ง SQL ใช้เวลานานเกินไป",
           "body": "คำสั่งนี้ถูกหยุดเมื่อครบ {seconds} วินาที ซึ่งเป็นเวลาสูงสุดที่ฐานข้อมูลสาธารณะให้แต่ละคำสั่ง "
                   "ลองกรองให้แคบลงด้วย WHERE หรือ LIMIT ใช้ตารางสรุปที่ขึ้นต้นด้วย agg_ "
                   "หรือดาวน์โหลดข้อมูลทั้งชุดที่ <a href=\"/exports/\">หน้าดาวน์โหลด</a> แล้วใช้บนเครื่องของคุณ",
           "sql": "คำสั่งที่ถูกหยุด"},
    "en": {"title": "The SQL query took too long",
           "body": "It was stopped after {seconds} seconds, the longest the public database gives one query. "
                   "Narrow it with WHERE or LIMIT, use the summary tables whose names start with agg_, "
                   "or download the whole data set from the <a href=\"/exports/\">downloads page</a> and query it "
                   "on your own computer.",
           "sql": "The query that was stopped"},
}


def language(request) -> str:
    asked = request.args.get("lang") or request.cookies.get("lang")
    return "en" if asked == "en" else "th"


def message(lang: str, seconds, sql: str) -> Markup:
    text = TEXT[lang]
    return Markup(f"<p>{text['body'].format(seconds=escape(seconds))}</p>"
                  f"<p>{escape(text['sql'])}:</p><textarea readonly rows=\"6\" style=\"width: 90%\">{sql}</textarea>")


@hookimpl(tryfirst=True)
def handle_exception(datasette, request, exception):
    if not (isinstance(exception, DatasetteError) and exception.title == INTERRUPTED):
        return None
    if request.path.split("?")[0].endswith(".json"):
        return None

    async def inner():
        lang = language(request)
        found = _SQL.search(str(exception.message))
        seconds = f"{datasette.setting('sql_time_limit_ms') / 1000:g}"
        template = datasette.jinja_env.select_template(["400.html", "error.html"])
        page = await template.render_async({
            "ok": False, "status": 400, "title": TEXT[lang]["title"],
            "error": message(lang, seconds, Markup(found.group(1)) if found else ""),
            "urls": datasette.urls, "app_css_hash": datasette.app_css_hash(), "menu_links": lambda: [],
        })
        return Response.html(page, status=400)

    return inner
