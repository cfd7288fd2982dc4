"""The watchlists' e-mails: the confirmation of a follow, and the digest of a build.

Thai first, then English for those who chose it, plain text and HTML with no images and no links
but to this portal (``portal.complaints.letters``). A digest is put together from sections, each
rendered once per followed subject and language, so 100,000 digests cost 100,000 joins, not
100,000 template renders; every digest ends with its subscriber's one-click unsubscribe link.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal.complaints.letters import base_url, compose
from portal.i18n import in_language

KIND_NAMES = {"agency": _l("Agency"), "supplier": _l("Supplier"), "province": _l("Province"),
              "flag": _l("Red flag"), "search": _l("Saved search")}
#: items listed per section; the rest are a link away
SHOWN = 5
LINE_LIMIT = 4500  # LINE takes 5,000 characters a text message


def confirmation(lang: str, *, kind: str, label: str, token: str) -> dict:
    return compose("confirm", lang, _l("Prongsai: confirm that you want to follow %(label)s", label=label),
                   folder="watch/email", kind_name=KIND_NAMES[kind], label=label,
                   link=f"{base_url()}/watch/confirm/{token}")


def locales(lang: str) -> tuple[str, ...]:
    return ("th", "en") if lang == "en" else ("th",)


def sections(locale: str, subjects: dict, items) -> dict:
    """(kind, key, label) -> (text, html) of each subject's part of a digest in ``locale``, rendered
    once for every subscriber who follows it. ``subjects``: (kind, key, label) -> (page, rows);
    ``items(rows)`` lists the first ``SHOWN`` rows, called in ``locale``."""
    env = current_app.jinja_env
    text_template, html_template = env.get_template("watch/email/section.txt"), env.get_template(
        "watch/email/section.html")
    out = {}
    with in_language(locale):
        base = base_url()
        for (kind, key, label), (page, rows) in subjects.items():
            context = dict(kind_name=str(KIND_NAMES[kind]), label=label, page=page, items=items(rows),
                           more=max(0, len(rows) - SHOWN), base=base)
            out[kind, key, label] = (text_template.render(**context).strip(), html_template.render(**context))
    return out


def frame(locale: str) -> dict:
    """The words around the sections, in one language, with ``{unsubscribe}`` and ``{manage}`` left
    to fill per subscriber."""
    with in_language(locale):
        parts = {"subject": str(_l("Prongsai: what is new on what you follow")),
                 "head": render_template("watch/email/digest_head.txt").strip(),
                 "foot": render_template("watch/email/digest_foot.txt").strip(),
                 "head_html": render_template("watch/email/digest_head.html"),
                 "foot_html": render_template("watch/email/digest_foot.html")}
    return parts


def shell(lang: str) -> list[str]:
    """The HTML layout of a digest in ``lang``, cut where each language's part goes: pieces
    around ``locales(lang)``."""
    with in_language("th"):
        html = render_template("complaints/email/_layout.html",
                               parts=[(locale, Markup(f"\x00{locale}\x00")) for locale in locales(lang)])
    pieces = html.split("\x00")
    return pieces[::2]


def digest(lang: str, frames: dict, shells: dict, sections: dict, *, unsubscribe: str, manage: str) -> dict:
    """``frames``: locale -> ``frame(locale)``; ``shells``: lang -> ``shell(lang)``; ``sections``:
    locale -> [(text, html)] of this subscriber's subjects. Only the short footers are filled in:
    a digest costs one join of its parts."""
    subjects, texts, html = [], [], [shells[lang][0]]
    for n, locale in enumerate(locales(lang), 1):
        f = frames[locale]
        subjects.append(f["subject"])
        texts.append("\n\n".join([f["head"], *(t for t, _h in sections[locale]),
                                   f["foot"].replace("{unsubscribe}", unsubscribe).replace("{manage}", manage)]))
        html += [f["head_html"], *(h for _t, h in sections[locale]),
                 f["foot_html"].replace("{unsubscribe}", unsubscribe).replace("{manage}", manage), shells[lang][n]]
    return {"subject": " / ".join(subjects), "text": "\n\n-- English --\n\n".join(texts) + "\n", "html": "".join(html)}


def line_text(lang: str, frames: dict, sections: dict, *, manage: str) -> str:
    """The LINE push of a digest: each subject's first lines, under LINE's 5,000 characters."""
    out = [frames[lang]["subject"]]
    for text, _html in sections[lang]:
        out.append("\n".join(text.splitlines()[:5]))
    body = "\n\n".join(out)
    if len(body) > LINE_LIMIT:
        body = body[:LINE_LIMIT].rsplit("\n", 1)[0] + "\n…"
    return body + "\n\n" + manage
