"""What a target offers the code that runs on it (the ETL core): its store, its I/O pool, the
cluster map and its own place in it, its jobs, and requests to other nodes."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from ._fanout import Fanout
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
