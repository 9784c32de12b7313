"""The proxy's requests to every target: a target that cannot do its part fails the request,
naming itself, instead of being skipped. Real nodes on real sockets: a proxy and one target
serving, a second target in the cluster map with nothing listening on its port."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from backend.local._auth import ClusterAuth
from backend.local._proxy import Proxy
from backend.local._smap import HOST, ClusterMap, Node
from backend.local._target import Target
from backend.local.etl._pod import free_port
from tests.conftest import code_msg

ETL = "stop-me-please"


@pytest.fixture
async def half_cluster(tmp_path: Path) -> AsyncIterator[tuple[str, Node]]:
    proxy = Node("PxOnly01", "proxy", free_port())
    alive, gone = Node("TgtAlive", "target", free_port()), Node("TgtGone1", "target", free_port())
    smap = ClusterMap("halfcluster", 1, "2026-12-01 10:00:00", proxy, (alive, gone))
    (tmp_path / "proxy").mkdir()
    # an ETL the proxy knows from before a restart (so stopped everywhere on its start)
    (tmp_path / "proxy" / "etl.json").write_text(json.dumps({ETL: {
        "msg": code_msg(ETL, b"def transform(b):\n    return b\n"), "stage": "Running",
        "xid": "etl-1", "reason": ""}}))
    runners = []
    auth = ClusterAuth.new(owner_token=None)  # open: this test is about the fan-out
    for node, app in ((alive, Target(smap, alive, tmp_path / "alive", auth).app()),
                      (proxy, Proxy(smap, tmp_path / "proxy", auth).app())):
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, HOST, node.port).start()
        runners.append(runner)
    try:
        yield proxy.url, gone
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def test_stop_and_delete_fail_naming_the_target_that_did_not_answer(half_cluster) -> None:
    url, gone = half_cluster
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        stop = await http.post(f"/v1/etl/{ETL}/stop")
        assert stop.status_code == 503, stop.text
        assert f"t[{gone.daemon_id}] is unreachable" in stop.json()["message"]
        delete = await http.delete(f"/v1/etl/{ETL}")
        assert delete.status_code == 503
        listed = (await http.get("/v1/etl")).json()  # GET /v1/etl asks every target too
        assert listed.get("message", "").startswith(f"t[{gone.daemon_id}]"), listed
