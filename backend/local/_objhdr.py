"""AIStore's object headers: what a GET, a HEAD and a PUT answer with beside the data, and the
checksum a PUT says its body has."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ._smap import Node
from ._storage import ObjectMeta


def object_headers(meta: ObjectMeta) -> dict:
    """What AIStore's GET sends beside the data (``cmn.ToHeader``)."""
    return {
        "Ais-Checksum-Type": meta.cksum_type,
        "Ais-Checksum-Value": meta.cksum_value,
        "Ais-Atime": str(meta.atime_ns),
        "Ais-Version": str(meta.version),
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }


def object_props_headers(node: Node, bucket: str, obj: str, meta: ObjectMeta,
                         root: Path) -> dict:
    """What AIStore's HEAD sends: the GET headers and every object property
    (``apc.PropToHeader``)."""
    return {
        **object_headers(meta),
        "Ais-Present": "true",
        "Ais-Name": obj,
        "Ais-Bucket-Name": bucket,
        "Ais-Bucket-Provider": "ais",
        "Ais-Location": f"{node.pretty}:{root}",
        "Content-Length": str(meta.size),
    }


def expected_checksum(request: web.Request) -> tuple[str, str] | None:
    """The checksum a PUT says its body has (type, value), if it says one."""
    if ctype := request.headers.get("Ais-Checksum-Type"):
        return ctype.lower(), request.headers.get("Ais-Checksum-Value", "")
    return None


def put_headers(meta: ObjectMeta) -> dict[str, str]:
    return {
        "Ais-Checksum-Type": meta.cksum_type,
        "Ais-Checksum-Value": meta.cksum_value,
        "Ais-Atime": str(meta.atime_ns),
        "Ais-Version": str(meta.version),
    }
