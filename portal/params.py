"""Query-string parameters checked once, so a bad value gets a friendly 400 naming it, never a 500."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

MAX_PAGE = 500


class BadParameter(BadRequest):
    """A 400 whose description is shown to the reader (already in their language)."""

    def __init__(self, name: str, value: str):
        super().__init__(_("The value “%(value)s” is not valid for “%(name)s”.", value=value[:80], name=name))


def choice_arg(name: str, choices) -> str | None:
    raw = request.args.get(name, "").strip()
    if raw == "":
        return None
    if raw not in choices:
        raise BadParameter(name, raw)
    return raw


def page_arg() -> int:
    """``?page=``: 1 to MAX_PAGE (deeper pages of a broad search are a filter's job)."""
    raw = request.args.get("page", "").strip() or "1"
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadParameter("page", raw)
    return int(raw)
