"""Bulk downloads (``/exports/``) and the site-wide ``robots.txt``.

The exports are written by ``prongsai refresh`` (or by hand with ``prongsai export``) into
``exports/`` beside the public database; Datasette's pages link here for "the latest export".
"""
from __future__ import annotations

import datetime as _dt
import pathlib

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask_babel import lazy_gettext as _

from prongsai.core import config
from prongsai.core.config import load_metadata
from prongsai.core.thai import THAI_TZ

bp = Blueprint("exports", __name__)

#: file name -> (format, description); only these are ever served.
EXPORTS = {
    "ocds.jsonl": ("OCDS 1.1 JSON Lines", _("Every project as an OCDS compiled release, one per line")),
    "ocds-package.json": ("OCDS 1.1 release package", _("Every project as one OCDS release package")),
    "flags-cardinal.json": ("Cardinal JSON", _("Red flags in the layout of OCP's Cardinal")),
}

#: Portal paths no crawler should walk: private forms and endless search combinations.
PRIVATE_PATHS = ["/track", "/login", "/moderate", "/corrections/request", "/projects/*/report", "/search?"]


def exports_dir() -> pathlib.Path:
    return pathlib.Path(current_app.config.get("EXPORTS_DIR") or config.exports_dir(current_app.config["DATABASE"]))


@bp.route("/exports/")
def index():
    folder = exports_dir()
    files = []
    for name, (fmt, description) in EXPORTS.items():
        path = folder / name
        if path.is_file():
            stat = path.stat()
            files.append({"name": name, "format": fmt, "description": description, "size": stat.st_size,
                          "modified": _dt.datetime.fromtimestamp(stat.st_mtime, THAI_TZ)})
    return render_template("exports.html", files=files)


@bp.route("/exports/<name>")
def download(name):
    if name not in EXPORTS or not (exports_dir() / name).is_file():
        abort(404)
    return send_from_directory(exports_dir(), name, as_attachment=True)


@bp.route("/robots.txt")
def robots():
    """One robots.txt for the whole site: Datasette's heavy endpoints (from metadata.yml) and ours."""
    rules = load_metadata().get("plugins", {}).get("datasette-block-robots", {}).get("disallow", [])
    lines = ["User-agent: *"] + [f"Disallow: {path}" for path in PRIVATE_PATHS + list(rules)]
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
