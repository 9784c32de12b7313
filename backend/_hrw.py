"""AIStore's highest-random-weight owner selection (core/meta/hrw.go), bit for bit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

import xxhash

MLCG32 = 1103515245
_M64 = (1 << 64) - 1


class HasDigest(Protocol):
    @property
    def id_digest(self) -> int: ...


T = TypeVar("T", bound=HasDigest)


def digest(data: str) -> int:
    """XXH64 with AIStore's seed, as used for node IDs and object unames."""
    return xxhash.xxh64_intdigest(data.encode(), seed=MLCG32)


def _mix(seed: int) -> int:
    # xoshiro256.Hash: splitmix64 twice, then *5, rotl 7, *9.
    z = (seed + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z = ((z ^ (z >> 31)) + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z = ((z ^ (z >> 31)) * 5) & _M64
    return ((((z << 7) | (z >> 57)) & _M64) * 9) & _M64


def uname(bucket: str, obj: str, provider: str = "ais", ns_uname: str = "@#") -> str:
    return f"{provider}/{ns_uname}/{bucket}/{obj}"


def owner(nodes: Iterable[T], bucket: str, obj: str) -> T:
    """The target that owns ``ais://bucket/obj``."""
    obj_digest = digest(uname(bucket, obj))
    best, best_h = None, -1
    for node in nodes:
        h = _mix(node.id_digest ^ obj_digest)
        if h >= best_h:
            best, best_h = node, h
    if best is None:
        raise LookupError("the cluster map has no targets")
    return best
