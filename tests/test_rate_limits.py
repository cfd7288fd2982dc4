"""Rate limits and login back-off: per client, with a global ceiling that tightens instead of locking
everyone out, keyed on a rotating keyed hash so no address is kept."""
from __future__ import annotations

import re

import pytest

from portal import create_app
from portal.ratelimit import RateLimiter

LIMITS = {"client": [10, 600], "global": [20, 600], "reserve": 2}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_a_crowd_over_the_ceiling_cannot_lock_a_newcomer_out(clock):
    limiter = RateLimiter(clock=clock)
    for i in range(20):
        assert limiter.hit("track", f"198.51.100.{i}", LIMITS) == 0
    assert limiter.hit("track", "203.0.113.1", LIMITS) == 0  # a fresh client gets in at once
    assert limiter.hit("track", "203.0.113.1", LIMITS) == 0  # ... up to its reserve
    wait = limiter.hit("track", "203.0.113.1", LIMITS)
    assert 0 < wait <= 601  # until its own oldest request ages out
    assert limiter.hit("track", "198.51.100.3", LIMITS) == 0  # one request so far: under the reserve
    assert limiter.hit("track", "198.51.100.3", LIMITS) > 0  # the crowd is cut to its reserve
    clock.now += 601  # the crowd's requests age out: full limits again
    assert [limiter.hit("track", "203.0.113.1", LIMITS) for _ in range(10)] == [0] * 10


def test_a_single_client_over_its_own_limit_waits_until_its_oldest_request_ages_out(clock):
    limiter = RateLimiter(clock=clock)
    for _ in range(10):
        assert limiter.hit("report", "203.0.113.7", LIMITS) == 0
        clock.now += 10
    assert limiter.hit("report", "203.0.113.7", LIMITS) == 600 - 100 + 1
    assert limiter.hit("report", "203.0.113.8", LIMITS) == 0
    assert limiter.hit("track", "203.0.113.7", LIMITS) == 0  # another action has its own counter


def test_a_flood_of_new_addresses_keeps_memory_bounded(clock, monkeypatch):
    from portal import ratelimit
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 100)
    limiter = RateLimiter(clock=clock)
    for i in range(1000):  # all within one window: none of them idle
        limiter.hit("track", f"2001:db8::{i:x}", LIMITS)
        limiter.failed("admin", f"2001:db8::{i:x}", free=0, first=60, cap=60)
        assert len(limiter._hits) <= 100 and len(limiter._failures) <= 100
    assert limiter.hit("track", "2001:db8::3e7", LIMITS) == 0  # the newest are kept
    assert limiter.hit("track", "2001:db8::3e7", LIMITS) > 0
    assert limiter.backoff("admin", "2001:db8::3e7") == 60


def test_keys_are_keyed_hashes_that_rotate(clock):
    limiter = RateLimiter(rotate_seconds=3600, clock=clock)
    limits = {"client": [2, 60], "global": [100, 60], "reserve": 1}
    assert [limiter.hit("x", "203.0.113.7", limits) for _ in range(2)] == [0, 0]
    assert limiter.hit("x", "203.0.113.7", limits) > 0
    assert limiter.hit("x", "203.0.113.8", limits) == 0
    limiter.failed("alice", "203.0.113.7", free=0, first=60, cap=60)
    assert "203.0.113.7" not in repr(vars(limiter)) and "alice" not in repr(vars(limiter))
    key = limiter.client_key("203.0.113.7")
    clock.now += 7200  # later than the rotation: new secret, old counters gone
    assert limiter.hit("x", "203.0.113.7", limits) == 0
    assert limiter.backoff("alice", "203.0.113.7") == 0
    assert limiter.client_key("203.0.113.7") != key


def test_failed_logins_back_off_per_account_and_client_with_a_cap(clock):
    limiter = RateLimiter(clock=clock)
    waits = []
    for _ in range(12):
        assert limiter.backoff("alice", "198.51.100.66") == 0  # each try waits out the last back-off
        limiter.failed("alice", "198.51.100.66", free=3, first=2, cap=900)
        waits.append(limiter.backoff("alice", "198.51.100.66"))
        clock.now += waits[-1]
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512] and limiter.backoff("alice", "198.51.100.66") == 0
    limiter.failed("alice", "198.51.100.66", free=3, first=2, cap=900)
    assert limiter.backoff("alice", "198.51.100.66") == 900
    assert limiter.backoff("alice", "203.0.113.9") == 0  # the owner elsewhere is not slowed
    assert limiter.backoff("bob", "198.51.100.66") == 0  # nor another account from the same client
    limiter.succeeded("alice", "198.51.100.66")
    assert limiter.backoff("alice", "198.51.100.66") == 0


@pytest.fixture
def limited_app(demo_db, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(demo_db), "SECRET_KEY": "t",
                       "COMPLAINTS_DATABASE": str(tmp_path / "c.db"),
                       "RATE_LIMITS": {"track": {"client": [30, 600], "global": [40, 600]}}})


def track(client, address):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/track").get_data(as_text=True)).group(1)
    return client.post("/track?lang=en", data={"csrf_token": token, "code": "x"},
                       environ_base={"REMOTE_ADDR": address})


def test_tracking_guesses_from_many_addresses_leave_a_new_citizen_a_way_in(limited_app):
    client = limited_app.test_client()
    statuses = [track(client, f"198.51.100.{i % 8}").status_code for i in range(60)]
    assert statuses[:40] == [404] * 40 and statuses.count(429) == 20  # over the ceiling the crowd is held back
    reserve = 5  # track's default
    assert [track(client, "203.0.113.50").status_code for _ in range(reserve + 1)] == [404] * reserve + [429]
    r = track(client, "198.51.100.1")
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 600


def test_limits_are_shared_out_between_worker_processes(demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    app = create_app({"TESTING": True, "DATABASE": str(demo_db), "SECRET_KEY": "t",
                      "COMPLAINTS_DATABASE": str(tmp_path / "c.db"), "RATE_LIMITS": {"track": {"client": [4, 600]}}})
    client = app.test_client()
    assert [track(client, "203.0.113.9").status_code for _ in range(3)] == [404, 404, 429]
