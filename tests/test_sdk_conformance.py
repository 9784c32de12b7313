"""The official AIStore SDK, unchanged, as the client of a real embedded cluster."""

from __future__ import annotations

import hashlib
import os

import pytest
import xxhash
from aistore import Client
from aistore.sdk.errors import (
    AISError,
    ErrBckAlreadyExists,
    ErrBckNotFound,
    ErrObjNotFound,
)

from backend.local import LocalCluster


def test_cluster_map_shows_every_target(client: Client, cluster: LocalCluster) -> None:
    smap = client.cluster().get_info()
    assert len(smap.tmap) == 2
    assert len(smap.pmap) == 1
    assert smap.proxy_si.public_net.direct_url == cluster.endpoint
    assert smap.version != "0" and smap.uuid
    assert client.cluster().is_ready()


def test_bucket_lifecycle(client: Client) -> None:
    bck = client.bucket("lifecycle-bck")
    bck.create()
    assert "lifecycle-bck" in [b.name for b in client.cluster().list_buckets()]
    props = bck.head()
    assert '"xxhash2"' in props["Ais-Bucket-Props"]
    with pytest.raises(ErrBckAlreadyExists):
        bck.create()
    bck.create(exist_ok=True)
    bck.delete()
    assert "lifecycle-bck" not in [b.name for b in client.cluster().list_buckets()]
    with pytest.raises(ErrBckNotFound):
        bck.delete()
    with pytest.raises(ErrBckNotFound):
        bck.list_objects()


def test_put_get_head_range_delete(bucket) -> None:
    data = os.urandom(100_000)
    obj = bucket.object("dir/sub/data.bin")
    obj.get_writer().put_content(data)
    assert obj.get_reader().read_all() == data
    assert obj.get_reader(byte_range="bytes=10-19").read_all() == data[10:20]
    assert obj.get_reader(byte_range="bytes=-5").read_all() == data[-5:]

    attrs = obj.head()
    assert attrs.size == len(data)
    assert attrs.checksum_type == "xxhash2"
    assert attrs.checksum_value == xxhash.xxh64(data).hexdigest()
    assert attrs.obj_version == "1"
    assert int(attrs.access_time) > 0

    obj.get_writer().put_content(b"second version")
    assert obj.head().obj_version == "2"
    assert obj.get_reader().read_all() == b"second version"

    obj.delete()
    with pytest.raises(ErrObjNotFound):
        obj.get_reader().read_all()
    with pytest.raises(ErrObjNotFound):
        obj.delete()


def test_put_with_client_checksum(bucket) -> None:
    data = b"checked bytes"
    obj = bucket.object("checked")
    md5 = hashlib.md5(data).hexdigest()
    headers = {"Ais-Checksum-Type": "md5", "Ais-Checksum-Value": md5}
    obj._client.request("PUT", path=obj._object_path, params=obj.query_params, data=data,
                        headers=headers)
    assert obj.get_reader().read_all() == data
    with pytest.raises(AISError, match="BAD DATA CHECKSUM"):
        obj._client.request("PUT", path=obj._object_path, params=obj.query_params,
                            data=b"tampered bytes", headers=headers)
    assert obj.get_reader().read_all() == data


def test_listing_2500_objects_in_pages_of_100(bucket) -> None:
    names = [f"pre-{i:04}" for i in range(2000)] + [f"other/{i:04}" for i in range(500)]
    for name in names:
        bucket.object(name).get_writer().put_content(name.encode())

    all_entries = bucket.list_all_objects(page_size=100)
    assert [e.name for e in all_entries] == sorted(names)
    assert all(e.size == len(e.name) for e in all_entries)

    pages, token, uuid, seen = 0, "", "", []
    while True:
        page = bucket.list_objects(prefix="pre-", page_size=100, uuid=uuid,
                                   continuation_token=token)
        pages += 1
        seen += [e.name for e in page.entries]
        uuid, token = page.uuid, page.continuation_token
        if not token:
            break
    assert seen == sorted(n for n in names if n.startswith("pre-"))
    assert pages in (20, 21)

    iterated = [e.name for e in bucket.list_objects_iter(prefix="other/", page_size=100)]
    assert iterated == sorted(n for n in names if n.startswith("other/"))


def test_listing_props(bucket) -> None:
    bucket.object("a").get_writer().put_content(b"abc")
    entry = bucket.list_objects(props="name,size,checksum,version,atime,location").entries[0]
    assert entry.name == "a" and entry.size == 3
    assert entry.checksum == xxhash.xxh64(b"abc").hexdigest()
    assert entry.version == "1"
    assert entry.atime
    assert entry.location.startswith("t[")
    name_only = bucket.list_objects(props="name").entries[0]
    assert name_only.name == "a" and name_only.size == 0


def test_bucket_summary_and_info(bucket) -> None:
    for i in range(10):
        bucket.object(f"s{i}").get_writer().put_content(b"x" * (i + 1))
    summary = bucket.summary()
    assert summary["ObjCount"]["obj_count_present"] == "10"
    assert summary["TotalSize"]["size_all_present_objs"] == str(sum(range(1, 11)))
    assert summary["TotalSize"]["size_all_remote_objs"] == "0"
    assert summary["ObjSize"]["obj_min_size"] == 1
    assert summary["ObjSize"]["obj_max_size"] == 10
    assert summary["used_pct"] == 0


def test_single_object_copy_within_and_across_targets(client: Client, bucket) -> None:
    dst = client.bucket(bucket.name + "-dst")
    dst.create()
    try:
        data = os.urandom(3 * 1024 * 1024 + 17)
        src = bucket.object("src.bin")
        src.get_writer().put_content(data)
        for i in range(8):  # with 2 targets, some copies land on the other target
            src.copy(dst.object(f"copy-{i}"))
        src.copy(bucket.object("same-bucket"))
        for i in range(8):
            assert dst.object(f"copy-{i}").get_reader().read_all() == data
        assert bucket.object("same-bucket").get_reader().read_all() == data
        with pytest.raises(ErrBckNotFound):
            src.copy(client.bucket("no-such-bucket").object("x"))
    finally:
        dst.delete(missing_ok=True)


def test_objects_are_spread_and_direct_access_agrees(client: Client, bucket, cluster) -> None:
    for i in range(200):
        bucket.object(f"spread-{i}").get_writer().put_content(str(i).encode())
    owners = set()
    for target in cluster.smap.targets:
        root = cluster.data_dir / f"target-{target.daemon_id}" / "objects" / bucket.name
        held = {p.name for p in root.iterdir()}
        if held:
            owners.add(target.daemon_id)
    assert owners == {t.daemon_id for t in cluster.smap.targets}
    for i in range(0, 200, 17):
        assert bucket.object(f"spread-{i}").get_reader(direct=True).read_all() == str(i).encode()


def test_object_names_with_special_characters(bucket) -> None:
    for name in ["with space", "q?mark", "hash#tag", "pct%20", "ünïcödé/ñ", "a+b=c&d"]:
        bucket.object(name).get_writer().put_content(name.encode())
        assert bucket.object(name).get_reader().read_all() == name.encode()
    listed = {e.name for e in bucket.list_all_objects()}
    assert "q?mark" in listed and "ünïcödé/ñ" in listed


def test_custom_properties_are_added_replaced_and_read_back(client: Client, http) -> None:
    bck = client.bucket("custom-props")
    bck.create(exist_ok=True)
    try:
        obj = bck.object("o")
        obj.get_writer().put_content(b"data")
        writer = obj.get_writer()
        writer.set_custom_props({"k1": "v1", "k2": "v2"})
        writer.set_custom_props({"k3": "v3"})
        assert obj.head().custom_metadata == {"k1": "v1", "k2": "v2", "k3": "v3"}
        writer.set_custom_props({"k4": "v4"}, replace_existing=True)
        assert obj.head().custom_metadata == {"k4": "v4"}
        raw = http.head("/v1/objects/custom-props/o", follow_redirects=True)
        assert raw.headers.get_list("Ais-Custom-Md") == ["k4=v4"]
        assert obj.get_reader().read_all() == b"data"  # the bytes are untouched
        bad = http.patch("/v1/objects/custom-props/o", json={"value": ["not", "a", "map"]})
        assert bad.status_code == 400 and "custom properties" in bad.json()["message"]
        missing = http.patch("/v1/objects/custom-props/nope", json={"value": {"a": "b"}})
        assert missing.status_code == 404
    finally:
        bck.delete(missing_ok=True)
