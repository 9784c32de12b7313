"""Integrity of buckets under races: what a destroyed bucket was being sent never brings it,
or the object, back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx

from backend.local import LocalCluster
from tests.conftest import auth_headers


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
    resp = httpx.put(hop.headers["location"], content=body(), timeout=60)  # (signed: no token)
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


def test_a_target_refuses_what_only_the_proxy_may_send_it(
        cluster: LocalCluster, http: httpx.Client) -> None:
    """As AIStore 5.0: an object write sent straight to a target (not redirected by the
    proxy) is a 400, one with a forged redirect a 403, and a bucket change or a job there a
    403, with nothing done; the owner (with the token) may read straight from a target,
    nobody else."""
    http.post("/v1/buckets/direct", json={"action": "create-bck"}).raise_for_status()
    try:
        http.put("/v1/objects/direct/kept", content=b"kept").raise_for_status()
        location = http.put("/v1/objects/direct/kept", content=b"",
                            follow_redirects=False).headers["location"]
        owner = location.split("/v1/")[0]
        stray = location.replace("/kept?", "/stray?")  # another object, the same signature
        forged = httpx.put(stray, content=b"x", headers=auth_headers())
        assert forged.status_code == 403
        assert "not redirected here by the proxy" in forged.json()["message"]
        for target in cluster.smap.targets:
            put = httpx.put(f"{target.url}/v1/objects/direct/stray", content=b"x")
            assert put.status_code == 400
            assert "PUT(obj) is expected to be redirected" in put.json()["message"]
            gone = httpx.request("DELETE", f"{target.url}/v1/buckets/direct",
                                 json={"action": "destroy-bck"})
            assert gone.status_code == 403 and "cluster's nodes only" in gone.json()["message"]
            job = httpx.post(f"{target.url}/v1/xactions", json={"xid": "x", "kind": "lru",
                                                               "src": "", "dst": ""})
            assert job.status_code == 403
        assert httpx.get(f"{owner}/v1/objects/direct/kept",
                         headers=auth_headers()).content == b"kept"
        anyone = httpx.get(f"{owner}/v1/objects/direct/kept")
        assert anyone.status_code == 401 and "token required" in anyone.json()["message"]
        names = [e["name"] for e in http.request(
            "GET", "/v1/buckets/direct", json={"action": "list", "value": {}}).json()["entries"]]
        assert names == ["kept"]
    finally:
        http.request("DELETE", "/v1/buckets/direct", json={"action": "destroy-bck"})


def test_a_name_no_file_path_can_hold_is_stored_under_its_hash(
        cluster: LocalCluster, http: httpx.Client) -> None:
    """As AIStore (``fs.IsFntl``): an object whose name a file system cannot hold (a part
    longer than 255 bytes, or the whole longer than 3,072) is stored in a file named by the
    name's hash, and is written, listed, read and deleted by its own name (it was a 400, a
    500 and an empty directory before)."""
    http.post("/v1/buckets/longnames", json={"action": "create-bck"}).raise_for_status()
    names = ["a" * 300, "dir/" + "b" * 256, "/".join(["c" * 200] * 25), "é" * 200]
    try:
        for i, name in enumerate(names):
            put = http.put(f"/v1/objects/longnames/{name}", content=f"long {i}".encode())
            assert put.status_code == 200, (len(name), put.text)
        files = sorted(p.name for p in cluster.data_dir.glob("target-*/objects/longnames/*"))
        objects = [f for f in files if not f.endswith(".name")]  # (each one's name beside it)
        assert len(objects) == 4 and all(f.startswith(".x") and len(f) == 66 for f in objects)
        assert files == sorted([*objects, *(f"{f}.name" for f in objects)])
        listed = http.request("GET", "/v1/buckets/longnames",
                              json={"action": "list", "value": {"props": "name,size"}}).json()
        assert sorted(e["name"] for e in listed["entries"]) == sorted(names)
        for i, name in enumerate(names):
            assert http.get(f"/v1/objects/longnames/{name}").content == f"long {i}".encode()
            assert http.head(f"/v1/objects/longnames/{name}").headers["Content-Length"] == \
                str(len(f"long {i}"))
        level = http.request("GET", "/v1/buckets/longnames", json={
            "action": "list", "value": {"prefix": "dir/", "flags": str(1 << 11)}}).json()
        assert [e["name"] for e in level["entries"]] == [names[1]]
        assert http.delete(f"/v1/objects/longnames/{names[0]}").status_code == 200
        assert http.get(f"/v1/objects/longnames/{names[0]}").status_code == 404
        assert http.put("/v1/objects/longnames/" + "d" * 255, content=b"x").status_code == 200
        assert not any(p.is_dir() for p in cluster.data_dir.glob("target-*/objects/longnames/*"))
    finally:
        http.request("DELETE", "/v1/buckets/longnames", json={"action": "destroy-bck"})


def test_creates_and_destroys_racing_leave_proxy_and_targets_agreeing(
        cluster: LocalCluster, http: httpx.Client) -> None:
    """Bucket changes are one ordered transaction across the proxy and every target: after
    a destroy and a create of one name race, the bucket the proxy lists takes objects on
    every target, one it does not list is gone everywhere, and no request got a 5xx."""
    objs = {t.daemon_id: next(f"o{i}" for i in range(1000)  # a name on every target
                              if cluster.smap.owner("race", f"o{i}").daemon_id == t.daemon_id)
            for t in cluster.smap.targets}
    answers: list[int] = []
    start = threading.Barrier(2)

    def destroy(c: httpx.Client) -> None:
        start.wait()
        answers.append(c.request("DELETE", "/v1/buckets/race",
                                 json={"action": "destroy-bck"}).status_code)

    def create(c: httpx.Client, delay: float) -> None:
        start.wait()
        time.sleep(delay)
        answers.append(c.post("/v1/buckets/race", json={"action": "create-bck"}).status_code)

    try:
        with httpx.Client(base_url=cluster.endpoint, timeout=60, headers=auth_headers()) as a, \
                httpx.Client(base_url=cluster.endpoint, timeout=60, headers=auth_headers()) as b:
            for i in range(40):
                http.post("/v1/buckets/race", json={"action": "create-bck"})
                threads = [threading.Thread(target=destroy, args=(a,)),
                           threading.Thread(target=create, args=(b, (i % 20) * 0.0002))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                exists = http.head("/v1/buckets/race").status_code
                assert exists in (200, 404)
                for target, obj in objs.items():
                    put = http.put(f"/v1/objects/race/{obj}", content=b"x")
                    assert put.status_code == exists, (i, target, put.text)
        assert not [a for a in answers if a >= 500], answers
    finally:
        http.request("DELETE", "/v1/buckets/race", json={"action": "destroy-bck"})


def test_racing_creates_of_one_name_give_one_bucket_and_409s(
        cluster: LocalCluster, http: httpx.Client) -> None:
    answers: list[int] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        answers.append(httpx.post(f"{cluster.endpoint}/v1/buckets/twin", headers=auth_headers(),
                                  json={"action": "create-bck"}, timeout=60).status_code)

    for _ in range(5):
        answers.clear()
        threads = [threading.Thread(target=create) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert sorted(answers) == [200] + [409] * 7, answers
        finally:
            http.request("DELETE", "/v1/buckets/twin", json={"action": "destroy-bck"})


def test_a_stale_part_of_a_destroyed_bucket_never_comes_back(
        cluster: LocalCluster, http: httpx.Client) -> None:
    """A target that kept a destroyed bucket's files (it missed the destroy) holds none of
    them once the bucket is created again."""
    http.post("/v1/buckets/phoenix", json={"action": "create-bck"}).raise_for_status()
    http.put("/v1/objects/phoenix/old", content=b"old").raise_for_status()
    http.request("DELETE", "/v1/buckets/phoenix", json={"action": "destroy-bck"})
    owner = cluster.smap.owner("phoenix", "old")
    stale = cluster.data_dir / f"target-{owner.daemon_id}" / "objects" / "phoenix"
    stale.mkdir()
    (stale / "old").write_bytes(b"old")  # what a target that missed the destroy still has
    try:
        http.post("/v1/buckets/phoenix", json={"action": "create-bck"}).raise_for_status()
        assert http.get("/v1/objects/phoenix/old").status_code == 404
        listed = http.request("GET", "/v1/buckets/phoenix",
                              json={"action": "list", "value": {}}).json()
        assert not listed.get("entries"), listed
    finally:
        http.request("DELETE", "/v1/buckets/phoenix", json={"action": "destroy-bck"})
