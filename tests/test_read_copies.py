"""The local proof of read copies: a primary and two copies (real ``prongsai serve`` processes on
127.0.0.1) behind bench/read_copies.py's stand-in for Fly's proxy. Pages come from the copies,
every write lands in the primary's complaints.db, a restarted copy loses no request."""
import asyncio
import io
import random
import sys

import httpx
import pytest
from PIL import Image

from prongsai.core.config import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from portal_load import sample_urls  # noqa: E402
from read_copies import REPLAY_LIMIT, Browser, FlyProxy, load, machines, start_all, stored_reports  # noqa: E402


@pytest.fixture
def cluster(demo_db, tmp_path):
    group = machines(tmp_path, demo_db, copies=2)
    try:
        start_all(group)
        yield group
    finally:
        for machine in group:
            machine.stop()


def big_photo() -> bytes:
    """A PNG of noise just past what Fly's proxy will replay."""
    rng = random.Random(7)
    img = Image.frombytes("RGB", (620, 620), bytes(rng.getrandbits(8) for _ in range(620 * 620 * 3)))
    out = io.BytesIO()
    img.save(out, "PNG")
    assert len(out.getvalue()) > REPLAY_LIMIT
    return out.getvalue()


async def test_copies_serve_pages_and_every_write_lands_on_the_primary(cluster, demo_db):
    primary, copy1, copy2 = cluster
    urls = sample_urls(demo_db, 50, random.Random(1))
    project = urls["project"][0]
    proxy = FlyProxy(cluster)
    try:
        results = await load(proxy, urls, 1.5, clients=4)
        assert results and all(status == 200 for _k, _t, status, _m in results)
        served = {m for *_r, m in results}
        assert {"copy1", "copy2"} <= served and proxy.replayed == 0  # copies answer pages themselves

        for copy in (copy1, copy2):
            health = httpx.get(copy.url + "/healthz").json()
            assert health["role"] == "copy" and health["status"] == "ok"
            assert health["build_id"] == health["primary_build_id"] == httpx.get(primary.url + "/healthz").json()[
                "build_id"]

        # writes, wherever the proxy sends them: replayed (small) or sent on with a 307 (past 1 MB)
        outcomes = [await Browser(proxy).report(project) for _ in range(3)]
        photo = {"evidence": ("noise.png", big_photo(), "image/png")}
        outcomes.append(await Browser(proxy).report(project, files=photo, first=copy2))
        assert [status for status, _ in outcomes] == [200] * 4
        assert {served for _, served in outcomes[:3]} == {"primary"} and outcomes[3][1] == "primary (307)"
        assert stored_reports(primary) == 4 and proxy.replayed > 0

        # a copy restarted mid-load: the proxy retries elsewhere; reads and writes all arrive
        retried = proxy.retried
        reading = asyncio.create_task(load(proxy, urls, 5.0, clients=4, seed=2))
        await asyncio.sleep(0.8)
        await asyncio.to_thread(copy1.stop)
        writes = [await Browser(proxy).report(project) for _ in range(2)]
        copy1.start()
        await asyncio.to_thread(copy1.wait_ready)
        results = await reading
        assert all(status == 200 for _k, _t, status, _m in results), "a read was lost during the restart"
        assert [status for status, _ in writes] == [200, 200] and stored_reports(primary) == 6
        assert proxy.retried > retried  # the restart was really felt
        after, _ = await proxy.request("GET", "/healthz")
        assert after.status_code == 200
        print(f"retried {proxy.retried}, replayed {proxy.replayed}, forms without a session {proxy.sessionless_forms}")
    finally:
        await proxy.close()
    for copy in (copy1, copy2):  # nothing private was ever made on a copy
        assert not (copy.data_dir / "complaints.db").exists() and not (copy.data_dir / "evidence").exists()
        assert not (copy.data_dir / "secret_key").exists()
