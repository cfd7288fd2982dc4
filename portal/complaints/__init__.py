"""Complaints, follow-up, volunteer flags and moderation (complaints.db only; never Datasette).

``init_app`` registers the blueprints and the ``complaint_counts(project_id)`` template global
that project pages use for the public numbers: approved volunteer flags, and verified/forwarded
reports only when there are at least ``PUBLIC_MIN_REPORTS`` of them, ``PUBLIC_MIN_AGE_DAYS`` old.
"""
from __future__ import annotations

import logging

from portal.complaints import cases, citizen, crypto, db, moderate, reply

log = logging.getLogger(__name__)


def init_app(app) -> None:
    app.config.setdefault("FOLLOW_UP_DAYS", 30)
    app.config.setdefault("PUBLIC_MIN_REPORTS", 3)
    app.config.setdefault("PUBLIC_MIN_AGE_DAYS", 14)
    app.config.setdefault("MIN_FREE_DISK_BYTES", 200 * 1024 * 1024)  # intake closes below this
    app.config.setdefault("MAX_CASE_EVIDENCE_BYTES", 4 * app.config["MAX_EVIDENCE_BYTES"])  # follow-ups included
    problem = crypto.key_problem(app)
    if problem:  # `prongsai serve` says so on start; other commands need no complaints
        app.extensions["complaints_disabled"] = problem
        log.info(problem)
    app.teardown_appcontext(db.close_cdb)
    app.register_blueprint(citizen.bp)
    app.register_blueprint(moderate.bp)
    app.register_blueprint(reply.bp)

    @app.template_global()
    def complaint_counts(project_id: str) -> dict:
        conn = db.read_cdb()
        return {
            "flags": cases.approved_flag_count(conn, project_id),
            "reports": cases.public_report_count(conn, project_id, minimum=app.config["PUBLIC_MIN_REPORTS"],
                                                 min_age_days=app.config["PUBLIC_MIN_AGE_DAYS"]),
        }
