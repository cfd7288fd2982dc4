"""Friendly error pages in the reader's language, never a bare 500."""
from __future__ import annotations

from flask import g, render_template

from portal.complaints.auth import landing
from portal.params import BadParameter


def init_app(app) -> None:
    @app.errorhandler(404)
    def not_found(error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(400)
    def bad_request(error):
        message = error.description if isinstance(error, BadParameter) else None
        return render_template("errors/400.html", message=message), 400

    @app.errorhandler(403)
    def forbidden(error):
        """A signed-in person on a page of another role is sent on to their own page, in their language."""
        user = g.get("user")
        return render_template("errors/403.html", home=landing(user) if user else None), 403

    @app.errorhandler(405)
    def wrong_method(error):
        return render_template("errors/400.html", message=None), 405

    @app.errorhandler(500)
    def server_error(error):
        return render_template("errors/500.html"), 500
