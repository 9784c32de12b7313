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


def test_an_object_file_changed_outside_the_cluster_fails_its_get(
        cluster: LocalCluster, http: httpx.Client) -> None:
    """Tampering is detected: a file whose bytes no longer have the checksum the cluster
    recorded answers 500 (BAD DATA CHECKSUM) instead of the changed bytes; a file only
    touched (same bytes, another mtime) still reads, and so does one of the same size
    rewritten to the same bytes."""
    http.post("/v1/buckets/tamper", json={"action": "create-bck"}).raise_for_status()
    try:
        for name in ("a", "b"):
            http.put(f"/v1/objects/tamper/{name}", content=b"the real bytes").raise_for_status()
        files = {p.name: p for p in cluster.data_dir.glob("target-*/objects/tamper/*")}
        files["a"].write_bytes(b"the fake bytes")  # same size, other bytes
        resp = http.get("/v1/objects/tamper/a")
        assert resp.status_code == 500
        assert "ais://tamper/a: BAD DATA CHECKSUM: xxhash2(" in resp.json()["message"]
        assert "its file was changed outside the cluster" in resp.json()["message"]
        files["b"].touch()
        assert http.get("/v1/objects/tamper/b").content == b"the real bytes"
        files["b"].write_bytes(b"the real bytes")
        assert http.get("/v1/objects/tamper/b").content == b"the real bytes"
    finally:
        http.request("DELETE", "/v1/buckets/tamper", json={"action": "destroy-bck"})
