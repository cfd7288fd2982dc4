"""The one HTTP client every scraper uses: polite, patient, and honest about failure.

Government servers are slow, rate-limited and sometimes behind anti-bot walls, so every request
goes through :class:`Client`, which

- sends a User-Agent naming Prongsai and its project URL;
- obeys ``robots.txt`` (fetched once per host; a 4xx means no rules, a 5xx or network error means
  "stay away", as RFC 9309 asks);
- waits between requests to the same host (default 1 s; e-GP hosts 3 s, see ``HOST_INTERVALS``);
- retries 429 and 5xx on GET/HEAD with exponential backoff, honouring ``Retry-After``
  (urllib3 ``Retry`` mounted on the session);
- puts a timeout on every call;
- caches only what the caller marks ``cache=True`` (immutable documents such as an
  announcement page) in a requests-cache SQLite file under ``data/cache/``; listing pages and
  API searches are never cached (the default);
- streams big files to disk with :meth:`Client.download`: resumable (HTTP ``Range``), length
  checked, sha256 recorded.

Failures a user cannot fix by retrying become :class:`FetchError`, one clear line naming the URL.

Usage::

    client = Client()                       # or Client(cache_path=None) for no cache at all
    data = client.get_json(url, params={...})
    page = client.get(url, cache=True).content
    dl = client.download(csv_url, dest)     # -> Download(path, url, size, sha256)
"""
from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import threading
import time
import urllib.parse
import urllib.robotparser

import requests
from requests.adapters import HTTPAdapter
from requests_cache import DO_NOT_CACHE, CachedSession
from urllib3.util.retry import Retry

from prongsai.core import config
from prongsai.core.errors import UserError
from prongsai.core.files import sha256_file

PROJECT_URL = "https://github.com/prongsai/prongsai"
USER_AGENT = f"Prongsai/{config.VERSION} (+{PROJECT_URL}; Thai procurement transparency)"

DEFAULT_INTERVAL = 1.0
#: host suffix -> minimum seconds between two requests to that host.
HOST_INTERVALS = {"gprocurement.go.th": 3.0}
#: (connect, read) seconds.
DEFAULT_TIMEOUT = (15, 60)
RETRY_STATUSES = (429, 500, 502, 503, 504)
CACHE_EXPIRE = 30 * 24 * 3600  # documents marked cacheable are re-fetched after 30 days
CHUNK = 1 << 20


class FetchError(UserError):
    """A request failed for good (after retries): names the URL and what went wrong."""


@dataclasses.dataclass(frozen=True)
class Download:
    path: pathlib.Path
    url: str
    size: int
    sha256: str


def default_cache_path() -> pathlib.Path:
    return config.data_dir() / "cache" / "http"


def interval_for(host: str) -> float:
    for suffix, seconds in HOST_INTERVALS.items():
        if host == suffix or host.endswith("." + suffix):
            return seconds
    return DEFAULT_INTERVAL


class Client:
    """A polite ``requests`` session; see the module docstring for what it guarantees.

    ``sleep``/``clock`` are injectable so tests run without waiting; ``backoff`` is urllib3's
    ``backoff_factor`` (0 in tests).
    """

    def __init__(self, *, cache_path: str | pathlib.Path | None | bool = True, timeout=DEFAULT_TIMEOUT,
                 retries: int = 4, backoff: float = 2.0, robots: bool = True,
                 intervals: dict[str, float] | None = None, sleep=time.sleep, clock=time.monotonic):
        if cache_path is True:
            cache_path = default_cache_path()
        if cache_path:
            pathlib.Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
            self.session: requests.Session = CachedSession(
                str(cache_path), backend="sqlite", expire_after=DO_NOT_CACHE,
                allowable_methods=("GET", "HEAD"))
        else:
            self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                      backoff_factor=backoff, status_forcelist=RETRY_STATUSES,
                      allowed_methods=frozenset({"GET", "HEAD"}), respect_retry_after_header=True,
                      raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout
        self.robots = robots
        self.intervals = intervals
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._lock = threading.Lock()

    # --- politeness ------------------------------------------------------------------------
    def _interval(self, host: str) -> float:
        if self.intervals is not None:
            return self.intervals.get(host, self.intervals.get("*", DEFAULT_INTERVAL))
        return interval_for(host)

    def _throttle(self, host: str) -> None:
        with self._lock:
            last = self._last.get(host)
            if last is not None:
                wait = last + self._interval(host) - self._clock()
                if wait > 0:
                    self._sleep(wait)
            self._last[host] = self._clock()

    def _check_robots(self, url: str) -> None:
        if not self.robots:
            return
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            robots_url = origin + "/robots.txt"
            parser = urllib.robotparser.RobotFileParser(robots_url)
            try:
                response = self._send("GET", robots_url, cache=False)
            except FetchError:
                response = None
            if response is None or response.status_code >= 500:
                self._robots[origin] = None  # unreachable: RFC 9309 says assume full disallow
            else:
                parser.parse(response.text.splitlines() if response.status_code < 400 else [])
                self._robots[origin] = parser
        parser = self._robots[origin]
        if parser is None:
            raise FetchError(f"{origin}/robots.txt could not be read (server error); not fetching {url}")
        if not parser.can_fetch(USER_AGENT, url):
            raise FetchError(f"robots.txt of {parts.netloc} disallows {url}")

    # --- requests --------------------------------------------------------------------------
    def _send(self, method: str, url: str, *, cache: bool, **kwargs) -> requests.Response:
        self._throttle(urllib.parse.urlsplit(url).netloc)
        kwargs.setdefault("timeout", self.timeout)
        if isinstance(self.session, CachedSession):
            kwargs["expire_after"] = CACHE_EXPIRE if cache else DO_NOT_CACHE
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.Timeout:
            raise FetchError(f"timed out fetching {url} (timeout {kwargs['timeout']}s)") from None
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"gave up on {url} after retries: {_reason(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            raise FetchError(f"could not connect to fetch {url}: {_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"request for {url} failed: {exc}") from None

    def request(self, method: str, url: str, *, cache: bool = False, ok=(200,), **kwargs) -> requests.Response:
        """GET or HEAD ``url``; a status outside ``ok`` (after retries) raises :class:`FetchError`."""
        if method not in ("GET", "HEAD"):
            raise ValueError("scrapers only read: GET and HEAD")
        self._check_robots(url)
        response = self._send(method, url, cache=cache, **kwargs)
        if response.status_code not in ok:
            response.close()
            raise FetchError(f"HTTP {response.status_code} {response.reason or ''} from {response.url}".strip())
        return response

    def get(self, url: str, *, cache: bool = False, **kwargs) -> requests.Response:
        return self.request("GET", url, cache=cache, **kwargs)

    def head(self, url: str, **kwargs) -> requests.Response:
        return self.request("HEAD", url, **kwargs)

    def get_json(self, url: str, **kwargs):
        response = self.get(url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise FetchError(f"expected JSON from {response.url}, got "
                             f"{response.headers.get('Content-Type', 'no content type')}: "
                             f"{response.text[:80]!r}") from None

    def download(self, url: str, dest: str | pathlib.Path, *, attempts: int = 3) -> Download:
        """Stream ``url`` to ``dest`` (via ``dest.part``), resuming after a cut; check the length.

        A finished ``dest.part`` becomes ``dest`` only when every byte announced arrived, so a
        truncated transfer never looks like a complete file.
        """
        dest = pathlib.Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        problem = ""
        for _ in range(attempts):
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            response = self._download_response(url, headers)
            with response:
                if have and response.status_code == 416:  # nothing left to send
                    total = have
                else:
                    if response.status_code != 206:  # server ignores Range: start over
                        have = 0
                    total = _total_length(response, have)
                    try:
                        with open(part, "ab" if have else "wb") as out:
                            for chunk in response.iter_content(CHUNK):
                                out.write(chunk)
                    except (requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ConnectionError) as exc:
                        problem = f"connection cut ({_reason(exc)})"
                        continue
            size = part.stat().st_size
            if total is not None and size < total:
                problem = f"truncated: {size:,} of {total:,} bytes"
                continue
            part.replace(dest)
            return Download(dest, url, size, sha256_file(dest))
        raise FetchError(f"download of {url} failed after {attempts} attempts: {problem}")

    def _download_response(self, url: str, headers: dict) -> requests.Response:
        self._check_robots(url)
        with _cache_off(self.session):  # a streamed body must never be read into the cache
            response = self._send("GET", url, cache=False, headers=headers, stream=True)
        if response.status_code not in (200, 206, 416):
            response.close()
            raise FetchError(f"HTTP {response.status_code} {response.reason or ''} from {response.url}".strip())
        return response

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _cache_off(session):
    disabled = getattr(session, "cache_disabled", None)
    return disabled() if disabled else contextlib.nullcontext()


def _total_length(response: requests.Response, have: int) -> int | None:
    if response.status_code == 206:
        content_range = response.headers.get("Content-Range", "")
        total = content_range.rpartition("/")[2]
        if total.isdigit():
            return int(total)
    length = response.headers.get("Content-Length")
    if length and length.isdigit():
        return have + int(length) if response.status_code == 206 else int(length)
    return None


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, which is the readable one."""
    while exc.__cause__ is not None or (exc.args and isinstance(exc.args[0], BaseException)):
        exc = exc.__cause__ or exc.args[0]
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
