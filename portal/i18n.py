"""Thai for everyone by default; English by choice (``?lang=en``, remembered in a cookie).

The browser's Accept-Language is not followed: many Thai citizens use phones set to English, and
a page in Thai is what the portal promises them; the switch is on every page."""
from __future__ import annotations

from urllib.parse import urlencode

import flask_babel
from flask import current_app, g, request
from flask_babel import Babel

LANG_COOKIE = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in languages:
        return remembered
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _translations():
    """The request's catalog, looked up once (Flask-Babel finds it again on every call)."""
    if "translations" not in g:
        g.translations = flask_babel.get_translations()
    return g.translations


def gettext(string: str, **variables) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale)
    # the same catalogs as Flask-Babel's callables, a page with hundreds of strings renders faster
    app.jinja_env.install_gettext_callables(
        lambda s: _translations().ugettext(s), lambda s, p, n: _translations().ungettext(s, p, n), newstyle=True)

    @app.after_request
    def remember_language(response):
        asked = request.args.get("lang")
        if asked in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != asked:
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600,
                                samesite="Lax", httponly=True, secure=request.is_secure)
        return response

    @app.context_processor
    def language():
        from flask_babel import get_locale

        return {"lang": str(get_locale()), "url_with": url_with}


def url_with(**changes) -> str:
    """The current page's URL with some query parameters changed (e.g. the language switch)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")
