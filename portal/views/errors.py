"""Friendly error pages in the reader's language, never a bare 500."""
from __future__ import annotations

from flask import render_template

from portal.params import BadParameter


def init_app(app) -> None:
    @app.errorhandler(404)
    def not_found(error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(400)
    def bad_request(error):
        message = error.description if isinstance(error, BadParameter) else None
        return render_template("errors/400.html", message=message), 400

    @app.errorhandler(500)
    def server_error(error):
        return render_template("errors/500.html"), 500
