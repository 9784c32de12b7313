"""What the embedded cluster does not implement is refused (501, AIStore's error shape, naming
it), never accepted and ignored: an append that overwrote, an archive read that returned the
whole archive, a non-recursive listing that recursed."""

from __future__ import annotations

import pytest

from backend.local._unsupported import UNSUPPORTED_LIST_FLAGS, UNSUPPORTED_QUERY


def refused(resp, what: str) -> None:
    assert resp.status_code == 501, (resp.status_code, resp.text)
    body = resp.json()
    assert what in body["message"] and "is not supported by the embedded cluster" in \
        body["message"], body


def test_an_append_is_refused_and_writes_nothing(http, bucket) -> None:
    resp = http.put(f"/v1/objects/{bucket.name}/log.txt",
                    params={"append_type": "append", "append_handle": ""}, content=b"line 1\n")
    refused(resp, "appending to an object")
    assert http.head(f"/v1/objects/{bucket.name}/log.txt").status_code == 404


def test_reading_inside_an_archive_is_refused(http, bucket) -> None:
    bucket.object("shard.tar").get_writer().put_content(b"not really a tar")
    for param, value in (("archpath", "a.txt"), ("archregx", ".*"), ("archmode", "regexp"),
                         ("archmime", "tar")):
        resp = http.get(f"/v1/objects/{bucket.name}/shard.tar", params={param: value})
        refused(resp, f"({param}")


def test_multipart_upload_is_refused(http, bucket) -> None:
    resp = http.post(f"/v1/objects/{bucket.name}/big", params={"uploads": ""})
    refused(resp, "multipart upload")


@pytest.mark.parametrize("bit", sorted(UNSUPPORTED_LIST_FLAGS))
def test_list_flags_not_implemented_are_refused(http, bucket, bit: int) -> None:
    bucket.object("a/b").get_writer().put_content(b"x")
    resp = http.request("GET", f"/v1/buckets/{bucket.name}", params={"provider": "ais"},
                        json={"action": "list", "value": {"flags": str(bit), "props": "name"}})
    refused(resp, UNSUPPORTED_LIST_FLAGS[bit].split(" (")[0])


def test_a_target_refuses_them_too(cluster, bucket) -> None:
    """Straight to a target (no proxy in between), the same answer."""
    import httpx

    target = cluster.smap.targets[0]
    for name in sorted(UNSUPPORTED_QUERY):
        resp = httpx.get(f"{target.url}/v1/objects/{bucket.name}/x", params={name: "1"},
                         timeout=10)
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
