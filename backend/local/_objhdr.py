"""AIStore's object headers: what a GET, a HEAD and a PUT answer with beside the data, and the
checksum a PUT says its body has."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict

from ._smap import Node
from ._storage import ObjectMeta


def put_headers(meta: ObjectMeta) -> CIMultiDict[str]:
    """What AIStore's PUT answers with: the object's checksum, access time, version and its
    custom properties (one ``Ais-Custom-Md: key=value`` header each)."""
    return CIMultiDict([
        ("Ais-Checksum-Type", meta.cksum_type),
        ("Ais-Checksum-Value", meta.cksum_value),
        ("Ais-Atime", str(meta.atime_ns)),
        ("Ais-Version", str(meta.version)),
        *(("Ais-Custom-Md", f"{key}={value}") for key, value in sorted(meta.custom.items())),
    ])


def object_headers(meta: ObjectMeta) -> CIMultiDict[str]:
    """What AIStore's GET sends beside the data (``cmn.ToHeader``)."""
    headers = put_headers(meta)
    headers.update({"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"})
    return headers


def object_props_headers(node: Node, bucket: str, obj: str, meta: ObjectMeta,
                         root: Path) -> CIMultiDict[str]:
    """What AIStore's HEAD sends: the GET headers and every object property
    (``apc.PropToHeader``)."""
    headers = object_headers(meta)
    headers.update({
        "Ais-Present": "true",
        "Ais-Name": obj,
        "Ais-Bucket-Name": bucket,
        "Ais-Bucket-Provider": "ais",
        "Ais-Location": f"{node.pretty}:{root}",
        "Content-Length": str(meta.size),
    })
    return headers


def expected_checksum(request: web.Request) -> tuple[str, str] | None:
    """The checksum a PUT says its body has (type, value), if it says one."""
    if ctype := request.headers.get("Ais-Checksum-Type"):
        return ctype.lower(), request.headers.get("Ais-Checksum-Value", "")
    return None


