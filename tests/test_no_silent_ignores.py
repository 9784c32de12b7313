"""What the embedded cluster does not implement is refused (501, AIStore's error shape, naming
it), never accepted and ignored: an archive read that returned the whole archive, an action
that answered 200 and did nothing."""

from __future__ import annotations

import pytest

from backend.local._unsupported import (
    ACCEPTED_AT,
    AIS_ACTIONS,
    DONE_ON_GET,
    DONE_QUERY,
    NO_EFFECT_QUERY,
    UNSUPPORTED_LIST_FLAGS,
    UNSUPPORTED_QUERY,
)


def refused(resp, what: str) -> None:
    assert resp.status_code == 501, (resp.status_code, resp.text)
    body = resp.json()
    assert what in body["message"] and "is not supported by the embedded cluster" in \
        body["message"], body


def test_writing_into_an_archive_is_refused(http, bucket) -> None:
    resp = http.put(f"/v1/objects/{bucket.name}/shard.tar", params={"archpath": "a.txt"},
                    content=b"a file for the shard")
    refused(resp, "writing into an archive")
    assert http.head(f"/v1/objects/{bucket.name}/shard.tar").status_code == 404


def test_multipart_upload_is_refused(http, bucket) -> None:
    resp = http.post(f"/v1/objects/{bucket.name}/big", params={"uploads": ""})
    refused(resp, "multipart upload")


@pytest.mark.parametrize("bit", sorted(UNSUPPORTED_LIST_FLAGS))
def test_list_flags_not_implemented_are_refused(http, bucket, bit: int) -> None:
    bucket.object("a/b").get_writer().put_content(b"x")
    resp = http.request("GET", f"/v1/buckets/{bucket.name}", params={"provider": "ais"},
                        json={"action": "list", "value": {"flags": str(bit), "props": "name"}})
    refused(resp, UNSUPPORTED_LIST_FLAGS[bit].split(" (")[0])


def test_a_target_refuses_them_too(http, bucket) -> None:
    """At a target (where the proxy redirects a request: pid, utm, its signature), the same
    answer."""
    import httpx

    location = http.put(f"/v1/objects/{bucket.name}/x", content=b"",
                        follow_redirects=False).headers["location"]
    for name in sorted(UNSUPPORTED_QUERY):
        resp = httpx.put(f"{location}&{name}=1", content=b"x", timeout=10)
        assert resp.status_code == 501, (name, resp.text)
        assert "is not supported by the embedded cluster" in resp.json()["message"]


def test_an_empty_parameter_is_not_a_request(http, bucket) -> None:
    """The SDK sends ``archpath=""`` when no archive is asked for: that is a plain GET."""
    bucket.object("plain").get_writer().put_content(b"whole")
    resp = http.get(f"/v1/objects/{bucket.name}/plain", params={"archpath": "", "archregx": ""})
    assert resp.status_code == 200 and resp.content == b"whole"


def test_head_v2_gives_last_modified_and_etag_when_asked(http, bucket) -> None:
    """HEAD ``?props=last-modified,etag`` (the SDK's ``head(props=...)``) answers with both,
    shaped as AIStore's (an ETag made of the checksum and the mtime, quoted); an unknown
    property is refused, as AIStore does."""
    from email.utils import parsedate_to_datetime

    bucket.object("dated").get_writer().put_content(b"when")
    path = f"/v1/objects/{bucket.name}/dated"
    plain = http.head(path, params={"props": "name,size"})
    assert plain.status_code == 200 and "ETag" not in plain.headers
    resp = http.head(path, params={"props": "name,size,last-modified,etag"})
    assert resp.status_code == 200
    assert parsedate_to_datetime(resp.headers["Last-Modified"]).tzinfo is not None
    cksum = resp.headers["Ais-Checksum-Value"]
    assert resp.headers["ETag"].startswith(f'"v1-{cksum}-') and resp.headers["ETag"][-1] == '"'
    bad = http.head(path, params={"props": "name,colour"})
    assert bad.status_code == 400 and "invalid property 'colour'" in bad.headers["Hdr-Error"]


def test_a_non_recursive_listing_lists_one_level(http, bucket) -> None:
    """Flag no-recursion (the `ais` CLI's `ls --nr`, and `rmo` uses it): the objects of the
    prefix's directory and its subdirectories as `name/` entries, once each though several
    targets hold objects under them, paged; as aisnode answers (`test_real_differential`)."""
    names = ["a.txt", "dir/b.txt", *(f"dir/sub/{i}.txt" for i in range(20)), "dir/sub2/d.txt",
             "dir/sx.txt", "ab/z.txt"]
    for name in names:
        bucket.object(name).get_writer().put_content(b"x")

    def listing(prefix: str, pagesize: int = 0) -> list[tuple[str, int]]:
        out, token = [], ""
        while True:
            resp = http.request("GET", f"/v1/buckets/{bucket.name}", params={"provider": "ais"},
                                json={"action": "list", "value": {
                                    "props": "name,size", "prefix": prefix, "flags": "2048",
                                    "pagesize": pagesize, "continuation_token": token}})
            page = resp.json()
            out += [(e["name"], e["flags"] & 256) for e in page["entries"] or ()]
            token = page["continuation_token"]
            if not token:
                return out

    assert listing("") == [("a.txt", 0), ("ab/", 256), ("dir/", 256)]
    assert listing("dir/") == [("dir/b.txt", 0), ("dir/sub/", 256), ("dir/sub2/", 256),
                               ("dir/sx.txt", 0)]
    assert listing("dir/", pagesize=1) == listing("dir/")
    assert listing("di") == [("dir/", 256)]
    assert listing("dir/s") == []  # below the top, a prefix names a directory


# (method, path, actions the embedded cluster does there): every other action AIStore does
# there must be refused naming it (501), and any action AIStore does not take there is its 400
# "invalid action"; the path's {b} and {o} are a bucket and object that exist.
EVICTS = {"evict-remote-bck", "evict-listrange", "prefetch-listrange"}  # ais://: refused as
# AIStore refuses them ("expecting remote bucket"), whatever the method
ACTION_ENDPOINTS = [
    ("POST", "/v1/buckets/{b}", "bucket", {"create-bck", "etl-bck", "etl-listrange", "copy-bck",
                                           "copy-listrange", "move-bck", *EVICTS}),
    ("DELETE", "/v1/buckets/{b}", "bucket", {"destroy-bck", "delete-listrange", *EVICTS}),
    ("GET", "/v1/buckets/{b}", "bucket", {"list", "summary-bck", *EVICTS}),
    ("PUT", "/v1/buckets/{b}", "bucket", {"archive", *EVICTS}),
    ("GET", "/v1/buckets", "buckets", {"list", "summary-bck"}),
    ("PUT", "/v1/cluster", "cluster", {"stop", "start"}),
    ("POST", "/v1/objects/{b}/{o}", "object", {"mpt-upload", "mpt-complete"}),
    ("POST", "/v1/objects/{b}", "object", {"promote"}),
]


@pytest.mark.parametrize(("method", "path", "endpoint", "done"), ACTION_ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ACTION_ENDPOINTS])
def test_every_aistore_action_not_done_is_refused_by_name(http, bucket, method: str, path: str,
                                                         endpoint: str, done: set[str]) -> None:
    bucket.object("kept.txt").get_writer().put_content(b"kept")
    url = path.format(b=bucket.name, o="kept.txt")
    accepted = ACCEPTED_AT[(method, endpoint)]
    for action in sorted(AIS_ACTIONS - done):
        resp = http.request(method, url, json={"action": action, "name": "x", "value": {}})
        message = resp.json()["message"]
        if action in accepted:  # AIStore does it here; the embedded cluster does not
            assert resp.status_code == 501, (action, resp.status_code, resp.text)
            assert f"action '{action}'" in message and "not supported by the embedded cluster" \
                in message, message
        else:  # AIStore refuses it here too
            assert resp.status_code == 400, (action, resp.status_code, resp.text)
            assert f'invalid action "{action}"' in message, message
    unknown = http.request(method, url, json={"action": "frobnicate"})
    assert unknown.status_code == 400
    assert unknown.json()["message"] == 'invalid action "frobnicate": AIStore has no such action'
    # nothing happened to the bucket or its object meanwhile
    assert bucket.object("kept.txt").get_reader().read_all() == b"kept"


# AIStore 5.0's query parameters (api/apc/query.go at 583e7729), as its SDK and CLI send them
AIS_QUERY_PARAMS = (
    "what", "props", "transient", "uuid", "jobid", "etl_name", "etl_pipeline", "etl_args",
    "etl_fqn", "etl_secret", "regex", "only_active", "set-new-custom", "provider", "namespace",
    "bck_to", "object_to", "dont_add_remote_bck_md", "dont_head_remote_bck", "keep_bck_md",
    "bsumm_remote", "presence", "append_type", "append_handle", "original_url", "severity",
    "offset", "all", "archpath", "archmime", "archregx", "archmode", "skip_vc", "frc",
    "latest-ver", "synchronize", "validate-checksum", "sln", "mountpath_label", "object",
    "uploads", "uploadId", "partNumber", "readiness", "apr", "prr", "pid", "can", "prp", "utm",
    "gfn", "rbs", "rbd", "cii", "owt", "dntres", "tcs", "tise", "tunc", "xnt", "xht", "xwm",
    "confirm-fshr", "act-no-xact", "nft", "vpams", "x", "u", "tid", "coloc", "sys",
)


def test_every_aistore_query_parameter_is_accounted_for() -> None:
    """Each parameter is done, refused by name, or of no effect here for a stated reason:
    none is left to be silently ignored, and a new one needs a decision."""
    done, refused, no_effect = set(DONE_QUERY), set(UNSUPPORTED_QUERY), set(NO_EFFECT_QUERY)
    assert done & refused == DONE_ON_GET  # read out of an archive; writing into one: refused
    assert not (done & no_effect or refused & no_effect)
    assert done | refused | no_effect == set(AIS_QUERY_PARAMS)
    assert all(reason for reason in NO_EFFECT_QUERY.values())


def test_a_bucket_namespace_is_refused(http, bucket) -> None:
    resp = http.put(f"/v1/objects/{bucket.name}/x", params={"namespace": "@uuid#ns"},
                    content=b"x")
    refused(resp, "bucket namespaces")
    assert http.head(f"/v1/objects/{bucket.name}/x").status_code == 404


def test_custom_metadata_sent_with_a_put_is_kept(http, bucket) -> None:
    """``Ais-Custom-Md: key=value`` headers on a PUT (AIStore reads them) are stored: HEAD and
    the SDK's properties give them back; a header that is not key=value is a 400."""
    url = f"/v1/objects/{bucket.name}/tagged"
    resp = http.put(url, content=b"x", headers=[("Ais-Custom-Md", "source=camera-7"),
                                                ("Ais-Custom-Md", "label=cat=yes")])
    assert resp.status_code == 200, resp.text
    custom = bucket.object("tagged").head().custom_metadata
    assert custom == {"source": "camera-7", "label": "cat=yes"}
    bad = http.put(url, content=b"y", headers={"Ais-Custom-Md": "no-equals-sign"})
    assert bad.status_code == 400
    assert bad.json()["message"] == ('custom metadata: invalid format "no-equals-sign" '
                                     "(expecting key=value)")
    assert bucket.object("tagged").get_reader().read_all() == b"x"  # the bad PUT changed nothing
