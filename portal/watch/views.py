"""The watchlists' pages: follow, check your e-mail, confirm, what a subscription covers, unsubscribe."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("watch", __name__, template_folder="templates")
