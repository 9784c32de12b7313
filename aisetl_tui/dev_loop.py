"""The cluster side of trying a transform on a sample: re-init the ETL under its name, pick
the sample's objects, and transform each one inline, timed. The editor screen's worker calls
these; they only talk to the cluster."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from backend.ais import AisClient, AisError

from .sample_run import SampleResult, SampleSpec, pick_names, result_of

RANDOM_POOL = 10_000  # names listed to pick a random sample from
MAX_OUTPUT = 16 * 1024 * 1024  # of an output read; a larger one is cut (and said so)


async def reinit(client: AisClient, msg: dict[str, Any]) -> str:
    """Init the ETL of ``msg``, replacing (stopping and deleting) one of the same name; what
    it replaced, in words ("" when the name was free)."""
    name = msg["name"]
    existing = next((e for e in await client.list_etls() if e.name == name), None)
    if existing is not None:
        await client.delete_etl(name)  # (stops it first if it runs)
    await client.init_etl(msg)
    return f"{name} ({existing.stage or 'stage unknown'})" if existing else ""


async def sample_objects(client: AisClient, spec: SampleSpec, seed: int) -> list[tuple[str, int]]:
    """The sample's (name, size) pairs, in name order."""
    wanted = spec.count if spec.pick == "first" else RANDOM_POOL
    sizes: dict[str, int] = {}
    token = uuid = ""
    while len(sizes) < wanted:
        page = await client.list_objects(spec.bucket, prefix=spec.prefix,
                                         page_size=min(1000, wanted - len(sizes)),
                                         token=token, uuid=uuid)
        sizes.update((e.name, e.size) for e in page.entries)
        token, uuid = page.token, page.uuid
        if not token:
            break
    return [(name, sizes[name]) for name in pick_names(list(sizes), spec, seed)]


def message_summary(msg: dict[str, Any], width: int = 90) -> str:
    """An init message as JSON for a confirmation: long values (code, a serialized class)
    cut to ``width`` characters."""
    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > width:
            return f"{value[:width]}… ({len(value):,} characters)"
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value

    return json.dumps(cut(msg), indent=2, ensure_ascii=False)


def how_sent(msg: dict[str, Any]) -> str:
    """``init code (python3.11v2, hpush://)`` or ``a runtime spec (aistorage/...:3.11, …)``."""
    comm = msg.get("communication", "")
    if "code" in msg:
        return f"init code ({msg.get('runtime', '?')}, {comm})"
    image = (msg.get("runtime") or {}).get("image", "?")
    return f"a runtime spec ({image}, {comm}; the code serialized in ETL_CLASS_PAYLOAD)"


def measure_sample(client: AisClient, etl: str, bucket: str, objects: list[tuple[str, int]],
                   report: Callable[[SampleResult], None], stop: threading.Event,
                   args: str = "") -> None:
    """Each object transformed inline by ``etl``, one after the other, each result given to
    ``report`` as it comes; ends early once ``stop`` is set. Blocking: it runs in a thread,
    on its own event loop and connections, so a latency is the cluster's, not the time the
    app's screen took to draw in between (tens of milliseconds)."""
    async def run() -> None:
        async with client.twin() as own:
            for name, size in objects:
                if stop.is_set():
                    return
                start = time.perf_counter()
                try:
                    output = await own.transform_object(bucket, name, etl, args,
                                                        max_bytes=MAX_OUTPUT)
                except AisError as err:
                    report(SampleResult(name, size, time.perf_counter() - start,
                                        error=err.message or str(err)))
                    continue
                report(result_of(name, size, time.perf_counter() - start, output))

    asyncio.run(run())
