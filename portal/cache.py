"""Whole-page cache for pages that depend only on the data build, the language and the query.

The data changes only when ``prongsai build`` runs, and the build id is part of the key, so a
new build is served at once and old entries age out. Only successful pages are kept.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict

from flask import current_app, request

from portal.db import get_meta
from portal.i18n import current_lang

MAX_ENTRIES = 512
_pages: OrderedDict = OrderedDict()
_lock = threading.Lock()


def cached_page(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = (current_app.config["DATABASE"], request.endpoint, current_lang(), request.script_root, request.url_root,
               tuple(sorted(request.args.items(multi=True))), tuple(sorted(kwargs.items())), get_meta("build_id"))
        with _lock:
            if key in _pages:
                _pages.move_to_end(key)
                return _pages[key]
        body = view(*args, **kwargs)
        if isinstance(body, str):
            with _lock:
                _pages[key] = body
                while len(_pages) > MAX_ENTRIES:
                    _pages.popitem(last=False)
        return body
    return wrapper
