"""What the client returns: small frozen dataclasses, independent of the wire formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from .. import _hrw


@dataclass(frozen=True)
class Node:
    """A cluster node; ``kind`` is ``"proxy"`` or ``"target"``, ``url`` its public URL."""

    id: str
    kind: str
    url: str

    @cached_property
    def id_digest(self) -> int:
        """What AIStore's placement hashes the node by (its ID's, as AIStore computes it)."""
        return _hrw.digest(self.id)


@dataclass(frozen=True)
class ClusterMap:
    """The cluster map (Smap). ``version`` is a string, as AIStore sends it."""

    uuid: str
    version: str
    primary_url: str
    proxies: list[Node]
    targets: list[Node]

    def owner(self, bucket: str, obj: str) -> Node | None:
        """The target that holds ``ais://bucket/obj`` (AIStore's HRW placement), or None
        without targets."""
        return _hrw.owner(self.targets, bucket, obj) if self.targets else None


@dataclass(frozen=True)
class BucketInfo:
    name: str
    provider: str


@dataclass(frozen=True)
class BucketSummary:
    """Object count and total size of the objects present in a bucket (under a prefix)."""

    name: str
    count: int
    size: int


@dataclass(frozen=True)
class ObjectEntry:
    name: str
    size: int
    checksum: str = ""
    atime: str = ""
    version: str = ""
    location: str = ""  # ``t[<target id>]:<mountpath>``, when asked for

    @property
    def target_id(self) -> str:
        """The target that stores the object, from ``location`` (``""`` when not asked)."""
        return self.location.partition("]")[0].removeprefix("t[")


@dataclass(frozen=True)
class ObjectPage:
    """One page of a listing; pass ``token`` and ``uuid`` back for the next one.

    ``token`` is ``""`` on the last page.
    """

    entries: list[ObjectEntry]
    token: str
    uuid: str


@dataclass(frozen=True)
class EtlInfo:
    """An ETL as ``GET /v1/etl`` lists it; ``stage`` is Initializing|Running|Aborted|Unknown."""

    name: str
    stage: str
    xid: str
    obj_count: int
    in_bytes: int
    out_bytes: int


@dataclass(frozen=True)
class ObjError:
    """One object an ETL failed to transform (``obj_name`` like ``ais://bck/obj``)."""

    obj_name: str
    message: str
    ecode: int


@dataclass(frozen=True)
class EtlDetails:
    """An ETL's init message, stage, why it stopped (``reason``), and per-object errors."""

    name: str
    init_msg: dict[str, Any]
    stage: str
    reason: str
    obj_errors: list[ObjError] = field(default_factory=list)


@dataclass(frozen=True)
class EtlPod:
    """One target's transformer. ``cpu`` in cores and ``mem`` in bytes are None when metrics
    are unavailable; ``pid``, ``started`` (unix seconds) and ``restarts`` when the server does
    not say: real AIStore reports only ``{target_id, health_status}`` (its pods' details are
    Kubernetes'), the embedded cluster reports them too, and ``detail`` and ``events`` while
    the ETL initializes."""

    etl: str
    target_id: str
    pod_name: str
    health: str
    pid: int | None
    started: float | None
    restarts: int | None
    cpu: float | None
    mem: int | None
    detail: str = ""  # where it is while the ETL initializes (the embedded cluster says)
    events: tuple[str, ...] = ()  # what happened to it lately, oldest first (ditto)


@dataclass(frozen=True)
class EtlLogs:
    target_id: str
    text: str


# Job kinds that idle between requests instead of ending with their work, and end after a
# minute with none (AIStore's xact.IdlesBeforeFinishing): a request between the same buckets
# meanwhile joins the job.
COPY_KINDS = frozenset({"copy-bck", "copy-listrange"})
IDLE_KINDS = frozenset({"copy-listrange", "etl-listrange", "archive", "get-batch", "list",
                        "download", "put-copies", "ec-get", "ec-put", "ec-resp"})


@dataclass(frozen=True)
class JobSnap:
    """One target's snapshot of a job. Counters are cumulative since the job started there.

    ``src`` and ``dst`` are bucket names (``""`` when the job has none); ``ended`` is None while
    the job runs on that target.
    """

    xid: str
    kind: str
    target_id: str
    src: str
    dst: str
    started: datetime
    ended: datetime | None
    loc_objs: int
    loc_bytes: int
    in_objs: int
    in_bytes: int
    out_objs: int
    out_bytes: int
    aborted: bool
    err: str
    idle: bool
    obj_errors: int

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def processed(self) -> tuple[int, int]:
        """The objects this target is done with, failures aside, and their bytes. AIStore
        counts a copy sent to another target both as processed here and as sent; a transform
        in one of the two (its result written here, or sent)."""
        if self.kind in COPY_KINDS:
            return self.loc_objs, self.loc_bytes
        return self.loc_objs + self.out_objs, self.loc_bytes + self.out_bytes

    @property
    def done(self) -> bool:
        """Its work here is done: it ended, or it idles (of a kind that idles)."""
        return self.ended is not None or (self.idle and self.kind in IDLE_KINDS)


@dataclass(frozen=True)
class JobStatus:
    """A job cluster-wide; ``ended`` is None while it runs. ``idle``: it runs with no work in
    hand, waiting for more (a kind in :data:`IDLE_KINDS`)."""

    xid: str
    kind: str
    err: str
    ended: datetime | None
    aborted: bool
    idle: bool = False

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def busy(self) -> bool:
        """Running with work in hand."""
        return self.ended is None and not self.idle
