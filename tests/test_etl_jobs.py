"""Offline jobs as a monitor sees them: live per-target counters, running list, abort; and the
runtime-spec flow (ETLSpecMsg) from manifests/."""

from __future__ import annotations

import time

import yaml

from backend.local.etl import ImageRegistry
from tests.conftest import MANIFESTS, code_msg, wait_for

SLOW = b"import time\n\ndef transform(data):\n    time.sleep(0.03)\n    return data[::-1]\n"


def qry(http, xid: str) -> dict:
    return http.request("GET", "/v1/cluster", params={"what": "qryxstats"},
                        json={"id": xid}).json()


def loc_objs(snaps: dict) -> int:
    return sum(int(s["stats"]["loc-objs"]) + int(s["stats"]["out-objs"])
               for per_target in snaps.values() for s in per_target)


def test_counters_move_running_list_and_abort(http, client, bucket, etl_cleanup) -> None:
    etl_cleanup.append("slow-reverse")
    assert http.put("/v1/etl", json=code_msg("slow-reverse", SLOW, comm="hpush://")
                    ).status_code == 200
    for i in range(400):
        bucket.object(f"o{i:03}").get_writer().put_content(b"abc%d" % i)
    resp = http.post(f"/v1/buckets/{bucket.name}", params={"bck_to": "ais/@#/reversed/"},
                     json={"action": "etl-bck", "value": {"id": "slow-reverse",
                                                          "num-workers": 2}})
    xid = resp.text

    first = wait_for(lambda: (s := qry(http, xid)) and loc_objs(s) > 0 and s,
                     what="the first objects counted")
    assert set(first) == {t.daemon_id for t in client.cluster().get_info().tmap.values()}
    second = wait_for(lambda: (s := qry(http, xid)) and loc_objs(s) > loc_objs(first) and s,
                      what="the counters to move")
    snap = next(iter(second.values()))[0]
    assert snap["kind"] == "etl-bck" and snap["end-time"] == "0001-01-01T00:00:00Z"
    # AIStore's packing (core.Snap.Pack): one mountpath jogger, the two workers asked for
    packed = int(snap["glob.id"])
    assert (packed & 1023, packed >> 10 & 1023) == (1, 2)
    assert snap["src-bck"]["name"] == bucket.name and snap["dst-bck"]["name"] == "reversed"

    running = http.request("GET", "/v1/cluster", params={"what": "running_all"},
                           json={"kind": "etl-bck", "show_active": True}).json()
    assert f"etl-bck[{xid}]" in running

    resp = http.put("/v1/cluster", json={"action": "stop", "value": {"ID": xid}})
    assert resp.status_code == 200
    status = http.request("GET", "/v1/cluster", params={"what": "status"}, json={"id": xid}).json()
    deadline = time.monotonic() + 10
    while not status["end_time"] and time.monotonic() < deadline:
        time.sleep(0.1)
        status = http.request("GET", "/v1/cluster", params={"what": "status"},
                              json={"id": xid}).json()
    assert status["aborted"] and status["end_time"]
    done = loc_objs(qry(http, xid))
    assert done < 400
    time.sleep(0.3)
    assert loc_objs(qry(http, xid)) == done  # nothing moves after the abort
    client.bucket("reversed").delete(missing_ok=True)


def test_unknown_job(http) -> None:
    resp = http.request("GET", "/v1/cluster", params={"what": "status"}, json={"id": "nope"})
    assert resp.status_code == 404
    resp = http.put("/v1/cluster", json={"action": "stop", "value": {"ID": "nope"}})
    assert resp.status_code == 404


def test_runtime_spec_from_manifests(http, cluster, bucket, etl_cleanup) -> None:
    ImageRegistry(cluster.data_dir).add("docker.io/aistore/md5_server:v1", MANIFESTS / "md5")
    msg = yaml.safe_load((MANIFESTS / "md5" / "etl_spec.yaml").read_text())
    msg["name"] = "runtime-md5"
    etl_cleanup.append("runtime-md5")
    resp = http.put("/v1/etl", json=msg)
    assert resp.status_code == 200, resp.text
    bucket.object("shard.in").get_writer().put_content(b"some text :)\n")
    resp = http.get(f"/v1/objects/{bucket.name}/shard.in", params={"etl_name": "runtime-md5"})
    assert resp.text == "393c6706efb128fbc442d3f7d084a426"


def test_single_object_copies_count_where_each_result_went(http, client, bucket,
                                                           etl_cleanup) -> None:
    """As AIStore: a result written on this target counts as loc-, one put straight to the
    destination's owner by the transformer as out- (and in- on the owner)."""
    etl_cleanup.append("copy-md5")
    code = (MANIFESTS / "md5" / "code.py").read_bytes()
    resp = http.put("/v1/etl", json=code_msg("copy-md5", code, comm="hpush://",
                                             support_direct_put=True))
    assert resp.status_code == 200, resp.text
    xid = resp.text
    bucket.object("src").get_writer().put_content(b"some text :)\n")
    for i in range(20):
        resp = http.put(f"/v1/objects/{bucket.name}/src",
                        params={"object_to": f"ais/@#/{bucket.name}/copy-{i}",
                                "etl_name": "copy-md5"})
        assert resp.status_code == 200, resp.text
    for i in range(20):
        assert bucket.object(f"copy-{i}").get_reader().read_all() == \
            b"393c6706efb128fbc442d3f7d084a426"
    stats = {tid: snap["stats"] for tid, [snap] in qry(http, xid).items()}
    loc = sum(int(s["loc-objs"]) for s in stats.values())
    out = sum(int(s["out-objs"]) for s in stats.values())
    assert loc + out == 20 and loc > 0 and out > 0  # 20 names: both targets own some
    assert sum(int(s["in-objs"]) for s in stats.values()) == out


SLEEPY = b"import time\n\ndef transform(data):\n    time.sleep(3)\n    return data\n"


def test_a_jobs_request_timeout_bounds_each_object(http, bucket, etl_cleanup) -> None:
    """``request_timeout`` (AIStore's per-object transform timeout of a job) is honoured in
    place of the ETL's obj_timeout, and said in the object's error; a malformed one is a 400
    before anything starts."""
    from tests.test_etl_bad_input import wait_job

    etl_cleanup.append("sleepy-echo")
    assert http.put("/v1/etl", json=code_msg("sleepy-echo", SLEEPY, comm="hpush://")
                    ).status_code == 200
    bucket.object("slow").get_writer().put_content(b"z")
    job = {"action": "etl-bck", "value": {"id": "sleepy-echo", "coer": True,
                                          "request_timeout": "1s"}}
    params = {"bck_to": f"ais/@#/{bucket.name}-out/"}
    bad = http.post(f"/v1/buckets/{bucket.name}", params=params,
                    json={**job, "value": {**job["value"], "request_timeout": "soon"}})
    assert bad.status_code == 400 and "request_timeout: invalid duration" in bad.text
    started = time.monotonic()
    resp = http.post(f"/v1/buckets/{bucket.name}", params=params, json=job)
    assert resp.status_code == 200, resp.text
    status = wait_job(http, resp.text)
    assert time.monotonic() - started < 3  # the object gave up after 1 s, not 3
    errors = http.get("/v1/etl/sleepy-echo", params={"uuid": resp.text}).json()["obj_errors"]
    assert any("within 1s (the job's request_timeout)" in e["msg"] for e in errors), errors
    assert "1 object(s) failed" in status["err"]
    http.request("DELETE", f"/v1/buckets/{bucket.name}-out", json={"action": "destroy-bck"})
