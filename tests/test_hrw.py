"""Owner selection must agree with the SDK's, so direct-to-target access finds every object."""

from __future__ import annotations

from aistore.sdk.types import Smap

from backend.local._smap import ClusterMap, Node


def make_map(n: int) -> ClusterMap:
    targets = tuple(Node(f"T{i:02}abcde", "target", 9000 + i) for i in range(n))
    return ClusterMap("uuid", 1, "now", Node("Pxyzabcd", "proxy", 8999), targets)


def test_owner_matches_the_sdk_for_many_names() -> None:
    smap = make_map(5)
    sdk_smap = Smap.model_validate(smap.to_json())
    for i in range(2000):
        name = f"dir-{i % 7}/obj-{i}.bin"
        sdk_owner = sdk_smap.get_target_for_object(f"ais/@#/bck/{name}")
        assert smap.owner("bck", name).daemon_id == sdk_owner.daemon_id


def test_every_target_owns_a_share() -> None:
    smap = make_map(4)
    counts: dict[str, int] = {}
    for i in range(4000):
        owner = smap.owner("b", f"o{i}").daemon_id
        counts[owner] = counts.get(owner, 0) + 1
    assert len(counts) == 4
    assert min(counts.values()) > 700
