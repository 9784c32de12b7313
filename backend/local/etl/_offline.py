"""Offline transforms (``etl-bck``, ``etl-listrange``): one target's share of a job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from .._errors import AISHTTPError
from .._names import validate_object_name
from .._services import TargetServices
from .._xact import Xaction
from ._comm import TransformError
from ._msgs import TCBMsg

Deliver = Callable[[str, str], Awaitable[tuple[str, int]]]
"""Transform one source object (its name) into the destination (the name there): the counter
it counts in (``"loc"``, ``"out"``) and the bytes written."""


@dataclass
class OfflineJob:
    xact: Xaction
    src: str
    dst: str
    msg: TCBMsg


async def run_job(job: OfflineJob, services: TargetServices, deliver: Deliver) -> None:
    """Transform the source objects this target owns, ``msg.workers`` at a time."""
    xact, msg = job.xact, job.msg
    try:
        names = await services.io(_my_names, services, job.src, msg)
    except AISHTTPError as err:
        xact.finish(err.message)
        return
    queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    for item in names:
        queue.put_nowait(item)
    budget = ByteBudget(msg.bytes_in_flight)

    async def worker() -> None:
        while not xact.aborted and not queue.empty():
            name, size = queue.get_nowait()
            try:
                async with budget.hold(size):
                    await _one(job, services, deliver, name)
            except (TransformError, AISHTTPError, OSError) as err:
                text = err.message if isinstance(err, AISHTTPError) else str(err)
                xact.object_error(f"ais://{job.src}/{name}", text,
                                  getattr(err, "status", 500))
                if not msg.continue_on_error:
                    xact.abort(f"{text} (object ais://{job.src}/{name})")

    workers = [asyncio.create_task(worker()) for _ in range(min(msg.workers, len(names) or 1))]
    # as AIStore reports them: a bucket job walks this target's one "mountpath"
    xact.joggers, xact.workers = int(job.xact.kind == "etl-bck"), len(workers)
    xact.draining = True
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        for w in workers:
            w.cancel()
        xact.draining = False
        xact.abort("aborted")
        raise
    xact.draining = False
    if xact.error_count and not xact.err:
        xact.err = f"{xact.error_count} object(s) failed to transform; see the job's errors"
    xact.finish()


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


def _my_names(services: TargetServices, src: str, msg: TCBMsg) -> list[tuple[str, int]]:
    """(name, size) of the source objects this target owns and transforms."""
    listed = msg.listed_names()
    if listed is None:
        out: list[tuple[str, int]] = []
        after = ""
        while page := services.store.list_names(src, msg.prefix, after, 10_000):
            out.extend(page)
            after = page[-1][0]
        return out
    mine = [n for n in listed if services.owns(src, n)]
    return list(zip(mine, services.store.indexed_sizes(src, mine), strict=True))


async def _one(job: OfflineJob, services: TargetServices, deliver: Deliver, name: str) -> None:
    if job.msg.objnames or job.msg.template:  # names from the request may not exist
        validate_object_name(job.src, name)
        await services.io(services.store.head, job.src, name)
    dst_name = validate_object_name(job.dst, job.msg.dst_name(name))
    kind, size = await deliver(name, dst_name)
    job.xact.add(kind, 1, size)
