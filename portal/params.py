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


def int_arg(name: str, *, default=None, minimum: int | None = None, maximum: int | None = None):
    raw = request.args.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, raw) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise BadParameter(name, raw)
    return value


def choice_arg(name: str, choices) -> str | None:
    raw = request.args.get(name, "").strip()
    if raw == "":
        return None
    if raw not in choices:
        raise BadParameter(name, raw)
    return raw


def page_arg() -> int:
    return int_arg("page", default=1, minimum=1, maximum=MAX_PAGE)
