"""Integrity of buckets under races: what a destroyed bucket was being sent never brings it,
or the object, back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx

from backend.local import LocalCluster


def test_a_put_that_ends_after_its_bucket_was_destroyed_fails_and_nothing_comes_back(
        cluster: LocalCluster, http: httpx.Client) -> None:
    http.post("/v1/buckets/doomed", json={"action": "create-bck"}).raise_for_status()
    # the target the object goes to (the proxy's redirect), then a slow upload straight there
    hop = http.put("/v1/objects/doomed/deep/dir/big.bin", content=b"", follow_redirects=False)
    assert hop.status_code == 307
    started, destroyed = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield b"x" * (1 << 20)
        started.set()
        destroyed.wait(30)
        time.sleep(0.2)
        for _ in range(19):
            yield b"x" * (1 << 20)

    def destroy() -> None:
        started.wait(30)
        http.request("DELETE", "/v1/buckets/doomed",
                     json={"action": "destroy-bck"}).raise_for_status()
        destroyed.set()

    killer = threading.Thread(target=destroy)
    killer.start()
    resp = httpx.put(hop.headers["location"], content=body(), timeout=60)
    killer.join()
    assert resp.status_code == 404, (resp.status_code, resp.text)
    assert 'bucket "ais://doomed" does not exist' in resp.json()["message"]

    http.post("/v1/buckets/doomed", json={"action": "create-bck"}).raise_for_status()
    listed = http.request("GET", "/v1/buckets/doomed",
                          json={"action": "list", "value": {"props": "name"}}).json()
    assert not listed.get("entries"), listed  # the re-created bucket is empty
    http.request("DELETE", "/v1/buckets/doomed", json={"action": "destroy-bck"})
