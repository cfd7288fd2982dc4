"""Watchlists: follow an agency, a supplier, a province, a red flag or a saved search by e-mail
(double opt-in), by LINE (``portal.line``) or by an Atom feed, and get one digest per build.

``store`` holds who follows what (complaints.db only), ``digests`` turns each build's change set
(``prongsai.derive.changes``, public) into one message per subscriber through the outbox, and
``views`` the pages: follow, confirm, what a subscription covers, unsubscribe.
"""
from __future__ import annotations


def init_app(app) -> None:
    from portal.watch import views

    app.register_blueprint(views.bp)
