"""What a target offers the code that runs on it (the ETL core): its store, its I/O pool, the
cluster map and its own place in it, its jobs, and requests to other nodes."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from ._errors import AISHTTPError
from ._fanout import Fanout, node_error
from ._http import Blocking
from ._smap import ClusterMap, Node
from ._storage import ObjectStore
from ._xact import XactRegistry


@dataclass
class TargetServices:
    node: Node
    smap: ClusterMap
    store: ObjectStore
    io: Blocking
    xacts: XactRegistry
    fanout: Fanout

    @property
    def session(self) -> aiohttp.ClientSession:
        """The target's outgoing HTTP session (open once the target has started)."""
        return self.fanout.session

    def owns(self, bucket: str, obj: str) -> bool:
        return self.smap.owner(bucket, obj).daemon_id == self.node.daemon_id

    async def read_object(self, bucket: str, obj: str, start: int = 0, length: int = 0) -> bytes:
        """The object, from this target or from its owner; or ``length`` bytes of it from
        ``start`` (-1: to its end), a 416 if it has not those bytes."""
        if self.owns(bucket, obj):
            return await self.io(self._read_here, bucket, obj, start, length)
        owner = self.smap.owner(bucket, obj)
        headers = {}
        if start or length:
            end = "" if length == -1 else str(start + length - 1)
            headers["Range"] = f"bytes={start}-{end}"
        headers.update(self.fanout.auth.sender_headers(self.node))
        async with self.session.get(f"{owner.url}/v1/objects/{bucket}/{quote(obj)}",
                                    headers=headers) as resp:
            data = await resp.read()
            if resp.status >= 400:
                raise node_error(resp.status, data)
        return data

    def _read_here(self, bucket: str, obj: str, start: int, length: int) -> bytes:
        f, meta = self.store.open(bucket, obj)
        with f:
            offset, count = byte_range(f"ais://{bucket}/{obj}", start, length, meta.size)
            f.seek(offset)
            return f.read(count)


def byte_range(where: str, start: int, length: int, size: int) -> tuple[int, int]:
    """(offset, count) of ``length`` bytes from ``start`` (0, 0: all; -1: to the end), as
    AIStore's ``MossIn.CheckRange``; a 416 naming ``where`` if it is not within ``size``."""
    if start == 0 and length == 0:
        return 0, size
    count = size - start if length == -1 else length
    if start >= size or count <= 0 or start + count > size:
        raise AISHTTPError(416, f"{where}: range start={start},length={length} not "
                           f"satisfiable (size {size})", "ErrRangeNotSatisfiable")
    return start, count
