"""Jobs over many objects of a bucket (AIStore's ``xact/xs/tcb.go``, ``tcobjs.go``): copy or
transform a bucket or a list or range of its objects (``copy-bck``, ``etl-bck``,
``copy-listrange``, ``etl-listrange``), or delete a list or range (``delete-listrange``). The
message is AIStore's :class:`TCBMsg`; one target's share of a request's work is
:func:`start_share`, which hands each object to a delivery (a copy, a transform, a delete). A
list or range job idles between requests, as AIStore's do, and later requests between the
same buckets join it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import msgspec
from braceexpand import braceexpand

from .._goduration import duration_value
from ._errors import AISHTTPError, bad_request, not_supported
from ._names import validate_object_name
from ._services import TargetServices
from ._xact import Xaction, failed_text

COPY_KINDS = ("copy-bck", "copy-listrange")
AUTO_WORKERS = 8  # a job's workers per target, unless the message says
BATCH = 1000  # names a target takes at a time from its source's listing or a job's list
AUTO_BYTES_IN_FLIGHT = 32 * 1024 * 1024
MAX_WORKERS = 64


class ObjectFailed(Exception):
    """One object of a job failed (the job goes on if it continues on errors); ``status``
    is the HTTP code it counts with."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class TCBMsg(msgspec.Struct, kw_only=True, rename={
    "etl_name": "id", "continue_on_error": "coer", "num_workers": "num-workers",
    "latest": "latest-ver", "non_recursive": "non-recurs"}):
    """``apc.TCBMsg`` (+ the list/range of ``TCOMsg``), flat as AIStore sends it. ``force``
    (go on beside jobs AIStore will not run at once) and ``latest`` (revalidate a remote
    source's versions) have nothing to act on here: no job limits another, and buckets are
    ais:// only."""

    etl_name: str = ""
    pipeline: list[str] | None = None
    request_timeout: str | int = ""
    ext: dict[str, str] | None = None
    prefix: str = ""
    prepend: str = ""
    dry_run: bool = False
    force: bool = False
    latest: bool = False
    synchronize: bool = False
    non_recursive: bool = False
    num_workers: int = 0
    continue_on_error: bool = False
    objnames: list[str] | None = None
    template: str = ""

    def dst_name(self, name: str) -> str:
        """``ToName``: the ext remap (``{"jpg": "png"}``), then the prepend."""
        if self.ext:
            base, dot, ext = name.rpartition(".")
            if dot and ext in self.ext:
                name = f"{base}.{self.ext[ext].lstrip('.')}"
        return self.prepend + name

    def check(self, action: str) -> None:
        """Refuse, before anything starts, what is not done (``synchronize``) and what is
        malformed (``request_timeout``)."""
        if self.synchronize:
            raise not_supported(f"{action} with synchronize (deleting destination objects "
                                "that are not in the source)")
        _ = self.transform_timeout

    @property
    def transform_timeout(self) -> float | None:
        """``request_timeout``: each object's transform may take this long (seconds), in
        place of the ETL's ``obj_timeout``; None if not given."""
        try:
            return duration_value(self.request_timeout) or None
        except ValueError as err:
            raise bad_request(f"request_timeout: {err}") from None

    @property
    def workers(self) -> int:
        if self.num_workers < 0:
            return 1
        return min(self.num_workers, MAX_WORKERS) if self.num_workers else AUTO_WORKERS

    @property
    def bytes_in_flight(self) -> int | None:
        """With the default workers, the source bytes a target transforms at once, at most: a
        transformer holds each object whole, and several large ones at a time only add memory
        and cache pressure to CPU-bound work, while small ones need many in flight to hide the
        round trips. None: only the worker count limits (the user chose it)."""
        return AUTO_BYTES_IN_FLIGHT if self.num_workers == 0 else None

    @property
    def is_listed(self) -> bool:
        """The job names its objects (a list or a template) rather than a whole bucket."""
        return bool(self.objnames or self.template)

    def listed_names(self) -> Iterator[str] | None:
        """The names a list or range job names, as they come (a template of millions is never
        expanded whole), or None for the whole bucket (or prefix)."""
        if self.objnames:
            return iter(self.objnames)
        if self.template:
            return braceexpand(self.template)
        return None


Deliver = Callable[[str, str], Awaitable[tuple[str, int]]]
"""Do the job to one source object (its name; the name at the destination): the counter it
counts in (``"loc"``, ``"out"``) and the bytes written. Failures: :class:`ObjectFailed`,
:class:`AISHTTPError` or :class:`OSError`."""


@dataclass
class OfflineJob:
    xact: Xaction
    src: str
    dst: str
    msg: TCBMsg


def start_share(job: OfflineJob, services: TargetServices, deliver: Deliver) -> asyncio.Task:
    """Start this target's share of a request's work for the job: busy from now (so it is
    never seen idle with work in hand), the work itself in a task."""
    job.xact.work_begins()
    return asyncio.create_task(_run_share(job, services, deliver))


async def _run_share(job: OfflineJob, services: TargetServices, deliver: Deliver) -> None:
    try:
        await _do_objects(job, services, deliver)
    except asyncio.CancelledError:
        job.xact.abort("aborted")
        raise
    finally:
        job.xact.work_ends(services.xacts.idle_for)


async def _do_objects(job: OfflineJob, services: TargetServices, deliver: Deliver) -> None:
    """Do the job to the source objects this target owns, ``msg.workers`` at a time."""
    xact, msg = job.xact, job.msg
    batches = _my_batches(services, job.src, msg)
    queue: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue(maxsize=2 * BATCH)
    budget = ByteBudget(msg.bytes_in_flight)

    async def produce() -> None:
        """Feed the workers batch by batch (bounded), then tell each to stop."""
        try:
            while not xact.aborted and (batch := await services.io(next, batches, None)):
                for item in batch:
                    await queue.put(item)
        except AISHTTPError as err:  # the source went, or was never there
            xact.finish(err.message)
        finally:
            for _ in range(msg.workers):
                await queue.put(None)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            if xact.aborted:
                continue  # (drained, so that the producer can end)
            name, size = item
            try:
                async with budget.hold(size):
                    await _one(job, services, deliver, name)
            except (ObjectFailed, AISHTTPError, OSError) as err:
                text = err.message if isinstance(err, AISHTTPError) else str(err)
                xact.object_error(f"ais://{job.src}/{name}", text,
                                  getattr(err, "status", 500))
                if not msg.continue_on_error:
                    xact.abort(f"{text} (object ais://{job.src}/{name})")

    # as AIStore reports them: a bucket job walks this target's one "mountpath"; the workers
    # configured
    xact.joggers, xact.workers = int(job.xact.kind.endswith("-bck")), msg.workers
    tasks = [asyncio.create_task(produce()),
             *(asyncio.create_task(worker()) for _ in range(msg.workers))]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    if xact.error_count and not xact.err:
        xact.err = failed_text(xact.kind, xact.error_count)


class ByteBudget:
    """At most ``limit`` bytes held at once (no limit if None); an item larger than the
    limit waits until nothing else is held, then goes alone."""

    def __init__(self, limit: int | None) -> None:
        self.limit, self.held = limit, 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        if self.limit is None:
            yield
            return
        async with self._changed:
            await self._changed.wait_for(lambda: not self.held or
                                         self.held + size <= self.limit)
            self.held += size
        try:
            yield
        finally:
            async with self._changed:
                self.held -= size
                self._changed.notify_all()


def _my_batches(services: TargetServices, src: str,
                msg: TCBMsg) -> Iterator[list[tuple[str, int]]]:
    """(name, size) of the source objects this target owns and does, batch by batch: a
    bucket (or prefix) page by page, a list or template as it expands."""
    listed = msg.listed_names()
    if listed is None:
        after = ""
        while page := services.store.list_names(src, msg.prefix, after, BATCH):
            after = page[-1][0]
            yield [item for item in page if not msg.non_recursive
                   or "/" not in item[0][len(msg.prefix):]]
        return
    while chunk := list(itertools.islice(listed, BATCH)):
        mine = [n for n in chunk if services.owns(src, n)]
        yield list(zip(mine, services.store.indexed_sizes(src, mine), strict=True))


async def _one(job: OfflineJob, services: TargetServices, deliver: Deliver, name: str) -> None:
    if job.msg.is_listed:  # names from the request may not exist
        validate_object_name(job.src, name)
        await services.io(services.store.head, job.src, name)
    dst_name = validate_object_name(job.dst, job.msg.dst_name(name)) if job.dst else ""
    counter, size = await deliver(name, dst_name)
    job.xact.add(counter, 1, size)
    if counter == "out" and job.xact.kind in COPY_KINDS:
        job.xact.add("loc", 1, size)  # as AIStore counts a copy: processed here, and sent
