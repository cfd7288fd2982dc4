"""Rendering e-mails: Thai first, then English for those who chose it; plain text and HTML.

The HTML has no images, no remote styles and no links but to this portal, so opening a message
tells nobody anything (no tracking pixels, no third-party links)."""
from __future__ import annotations

from flask import current_app, has_request_context, render_template, request
from markupsafe import Markup

from portal.i18n import in_language
from prongsai.core.errors import UserError


def base_url() -> str:
    """Where links in e-mails point: ``PRONGSAI_PUBLIC_URL``, or the request's own address."""
    url = current_app.config.get("PUBLIC_URL")
    if url:
        return str(url).rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return "http://localhost:8000"  # a shell or a test; `prongsai notify` insists on PRONGSAI_PUBLIC_URL


def require_base_url(config) -> None:
    if not config.get("PUBLIC_URL"):
        raise UserError("PRONGSAI_PUBLIC_URL is not set: links in e-mails need the portal's public address")


def compose(name: str, lang: str, subject, folder: str = "complaints/email", **context) -> dict:
    """``subject`` is a lazy string; ``<folder>/<name>.txt`` and ``.html`` the body."""
    context.setdefault("base", base_url())
    subjects, texts, htmls = [], [], []
    for locale in ("th", "en") if lang == "en" else ("th",):
        with in_language(locale):
            subjects.append(str(subject))
            texts.append(render_template(f"{folder}/{name}.txt", **context).strip())
            htmls.append((locale, Markup(render_template(f"{folder}/{name}.html", **context))))
    with in_language("th"):  # outside a request the portal's locale selector has no request to read
        html = render_template("complaints/email/_layout.html", parts=htmls)
    return {"subject": " / ".join(subjects), "text": "\n\n-- English --\n\n".join(texts) + "\n", "html": html}
