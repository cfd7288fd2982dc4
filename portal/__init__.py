"""The citizen portal: a Flask app factory (the flaskr pattern) with one blueprint per area."""
from __future__ import annotations

from flask import Flask

from prongsai.core import config


def create_app(test_config: dict | None = None) -> Flask:
    """Defaults, then ``PRONGSAI_*`` environment variables, then ``test_config``. Without a
    ``SECRET_KEY`` from either, the server's own random key beside the complaints database."""
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE=str(config.default_db()),
        COMPLAINTS_DATABASE=str(config.default_complaints_db()),
        BABEL_DEFAULT_LOCALE="th",
        # one catalog per area, merged by Flask-Babel (relative to portal/)
        BABEL_TRANSLATION_DIRECTORIES="translations;complaints/translations;watch/translations",
        LANGUAGES=("th", "en"),
        BEHIND_FLY_PROXY=False,
    )
    app.config.from_prefixed_env("PRONGSAI")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):  # never a known key: anyone could sign sessions with it
        app.config["SECRET_KEY"] = config.secret_key(app.config["COMPLAINTS_DATABASE"])

    from portal import db, format, i18n
    from portal.views import (
        agencies,
        errors,
        exports,
        feeds,
        flags,
        main,
        network,
        pages,
        prices,
        projects,
        provinces,
        search,
        suppliers,
    )

    db.init_app(app)
    i18n.init_app(app)
    format.init_app(app)
    errors.init_app(app)
    for blueprint in (main, search, projects, agencies, suppliers, flags, prices, network, pages, feeds, exports,
                      provinces):
        app.register_blueprint(blueprint.bp)
    from portal import complaints, security  # headers, CSRF, limits; complaints and moderation

    security.init_app(app)
    complaints.init_app(app)
    from portal import line  # after security: its signed webhook is exempt from CSRF

    line.init_app(app)
    from portal import watch  # follow by e-mail, LINE or feed; digests after each build

    watch.init_app(app)
    return app
