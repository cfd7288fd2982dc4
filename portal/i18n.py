"""Thai for everyone by default; English by choice (``?lang=en``, remembered in a cookie).

The browser's Accept-Language is not followed: many Thai citizens use phones set to English, and
a page in Thai is what the portal promises them; the switch is on every page."""
from __future__ import annotations

import contextlib
from urllib.parse import urlencode

import flask_babel
from flask import current_app, g, request
from flask_babel import Babel
from jinja2 import pass_eval_context
from markupsafe import Markup

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
    try:
        return g.translations
    except AttributeError:
        g.translations = flask_babel.get_translations()
        return g.translations


def current_lang() -> str:
    """The request's language code ("th" or "en"), looked up once: Flask-Babel's ``get_locale``
    costs about ten microseconds a call, and a page's filters ask hundreds of times."""
    try:
        return g.lang
    except AttributeError:
        g.lang = str(flask_babel.get_locale())
        return g.lang


@contextlib.contextmanager
def in_language(locale: str):
    """Flask-Babel's ``force_locale``, with the catalog and language this module keeps for the
    request forgotten on the way in and out (letters are written in each reader's language)."""
    try:
        with flask_babel.force_locale(locale):
            _forget()
            yield
    finally:
        _forget()


def _forget() -> None:
    g.pop("translations", None)
    g.pop("lang", None)


def gettext(string: str, **variables) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


@pass_eval_context
def _template_gettext(eval_ctx, string: str, **variables) -> str:
    text = _translations().ugettext(string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale)
    # the same catalogs as Flask-Babel's callables, a page with hundreds of strings renders faster
    app.jinja_env.install_gettext_callables(
        lambda s: _translations().ugettext(s), lambda s, p, n: _translations().ungettext(s, p, n), newstyle=True)
    # ``_`` as Jinja's new-style gettext does it (Markup when autoescaping, always a format string),
    # without its alias's two trips through the template context: a page calls it about 65 times
    app.jinja_env.globals["_"] = _template_gettext

    @app.after_request
    def remember_language(response):
        asked = request.args.get("lang")
        if asked in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != asked:
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600,
                                samesite="Lax", httponly=True, secure=request.is_secure)
        return response

    @app.context_processor
    def language():
        return {"lang": current_lang(), "url_with": url_with}


def url_with(**changes) -> str:
    """The current page's URL with some query parameters changed (e.g. the language switch)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")
