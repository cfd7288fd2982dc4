"""Keep heavy endpoints usable: a per-client rate limit on arbitrary SQL, and no crawling of them.

One client looping over ``?sql=`` could hold every SQL thread for the whole site, so arbitrary
SQL (``?sql=`` on the database, ``?_where=`` on a table) is limited per client by a token bucket;
canned queries and table pages are not. There is no bucket shared by everyone, so clients
elsewhere can never use up a newcomer's queries (each query's time limit and Datasette's SQL
threads bound the load). Clients are told apart by their address only in memory, as a keyed
hash that is never logged or stored (docs/deploy.md, "How the client key is derived").
Query, export and search responses carry ``X-Robots-Tag: noindex`` so crawlers do not walk
them (robots.txt rules are in metadata.yml).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from urllib.parse import parse_qs

from datasette import hookimpl

PLUGIN = "prongsai-sql-rate-limit"
#: A journalist exploring (a click every few seconds, a burst of facets and pages) never meets the
#: limit; a script looping over ?sql= gets 40 a minute per address, which with the 3 s time limit
#: keeps at most two of the three SQL threads busy.
DEFAULTS = {"per_minute": 40, "burst": 60}
MAX_CLIENTS = 50_000
HEAVY_ARGS = ("sql", "_where", "_search", "_contains", "_facet", "_sort", "_sort_desc", "_next", "_stream")
MESSAGE = ("ส่งคำสั่ง SQL ถี่เกินไป กรุณารอสักครู่แล้วลองใหม่ / "
           "Too many SQL queries from your address: please wait a moment and try again.")


class TokenBuckets:
    """``burst`` queries at once, refilled at ``per_minute``; one bucket per hashed client key."""

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.salt = secrets.token_bytes(16)  # per process: keys cannot be reversed or linked across restarts
        self.buckets: dict[bytes, tuple[float, float]] = {}

    def key(self, client: str) -> bytes:
        return hmac.new(self.salt, client.encode(), hashlib.sha256).digest()[:16]

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self.clock()
        key = self.key(client)
        tokens, last = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self.buckets[key] = (tokens - 1, now)
        if len(self.buckets) > MAX_CLIENTS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now):
        refilled = self.burst / self.rate  # an idle bucket is full again after this long
        self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < refilled}


def _is_arbitrary_sql(datasette, path: str, args: dict) -> bool:
    if "_where" in args:
        return True
    if "sql" not in args:
        return False
    path = path.removeprefix(datasette.setting("base_url").rstrip("/"))  # whichever wrapper runs first
    return path in ("/procurement", "/procurement.json", "/procurement.csv")


def _behind_fly_proxy() -> bool:
    """The portal's switch (``PRONGSAI_BEHIND_FLY_PROXY``): only then is Fly-Client-IP trusted."""
    return os.environ.get("PRONGSAI_BEHIND_FLY_PROXY", "").strip().lower() in ("1", "true", "yes", "on")


def _client(scope) -> str:
    if _behind_fly_proxy():
        for name, value in scope.get("headers") or []:
            if name.lower() == b"fly-client-ip":
                return value.decode("latin-1").strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


@hookimpl
def asgi_wrapper(datasette):
    config = {**DEFAULTS, **(datasette.plugin_config(PLUGIN) or {})}
    buckets = TokenBuckets(float(config["per_minute"]), int(config["burst"]))

    def wrap(app):
        async def heavy_endpoints(scope, receive, send):
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope["path"]
            args = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
            if _is_arbitrary_sql(datasette, path, args):
                wait = buckets.take(_client(scope))
                if wait:
                    await _too_many(send, path, wait)
                    return
            if path.endswith((".csv", ".json")) or any(arg in args for arg in HEAVY_ARGS):
                send = _with_noindex(send)
            await app(scope, receive, send)

        return heavy_endpoints

    return wrap


def _with_noindex(send):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            message = dict(message, headers=list(message.get("headers") or [])
                           + [(b"x-robots-tag", b"noindex, nofollow")])
        await send(message)

    return wrapped


async def _too_many(send, path, wait):
    if path.endswith(".json"):
        body = json.dumps({"ok": False, "status": 429, "error": MESSAGE}, ensure_ascii=False)
        content_type = b"application/json; charset=utf-8"
    else:
        body = MESSAGE
        content_type = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", content_type), (b"retry-after", str(max(1, round(wait))).encode()),
        (b"x-robots-tag", b"noindex, nofollow")]})
    await send({"type": "http.response.body", "body": body.encode("utf-8")})
