"""Talking to a transformer, as an AIStore target does (hpush, hpull, ws, io)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from yarl import URL

from .._tcb import ObjectFailed
from ._msgs import HPULL, WS, EtlSpec
from ._pod import Pod

MAX_ERROR_TEXT = 16 * 1024
_TAGS = re.compile(r"<[^>]+>")


class TransformError(ObjectFailed):
    """A transformer failed on one object; ``str()`` is what the user reads."""


@dataclass
class Delivered:
    """The transformer wrote the result to its destination itself (direct put)."""

    size: int


def escaped_uname(bucket: str, obj: str) -> str:
    return quote(f"ais/@#/{bucket}/{obj}", safe="")


def _query(fqn: str, etl_args: str) -> str:
    """``?etl_fqn=...&etl_args=...`` with those given (``etl_fqn`` path-escaped, as AIStore
    sends it), or ``""``."""
    params = [f"{name}={quote(value, safe='')}"
              for name, value in (("etl_fqn", fqn), ("etl_args", etl_args)) if value]
    return "?" + "&".join(params) if params else ""


def _error_text(body: bytes, content_type: str) -> str:
    """A transformer's error body as the user reads it: the message of a JSON error, the
    words of an HTML error page, any other text as it is (a traceback keeps its lines)."""
    text = body[:MAX_ERROR_TEXT].decode(errors="replace").strip()
    if content_type == "text/html" or text[:15].lower().startswith(("<!doctype html", "<html")):
        return " ".join(_TAGS.sub(" ", text).split())
    try:
        info = json.loads(text)
    except ValueError:
        return text
    if isinstance(info, dict):
        return str(info.get("detail") or info.get("error") or info.get("message") or text)
    return text


class Communicator:
    """Sends one object at a time to one target's transformer."""

    def __init__(self, spec: EtlSpec, pod: Pod, secret: str = "") -> None:
        self.spec, self.pod = spec, pod
        self._secret = secret  # never in what a transformer's failure says (it echoes URLs)
        self._ws_idle: list[aiohttp.ClientWebSocketResponse] = []

    def pull_url(self, bucket: str, obj: str, fqn: str, etl_args: str) -> str:
        """Where the target GETs an hpull transformer's result (AIStore redirects clients
        there; here the target answers them itself, the transformer's network being its
        own)."""
        return f"{self.pod.url}/{escaped_uname(bucket, obj)}{_query(fqn, etl_args)}"

    @contextlib.asynccontextmanager
    async def open(self, bucket: str, obj: str, fqn: str, etl_args: str,
                   pipeline: Sequence[str] = (), destination: str = "",
                   timeout: float | None = None) -> AsyncIterator[aiohttp.ClientResponse]:
        """One request to the transformer, which hands its result to the ``pipeline``'s next
        transformers (their URLs), the last of which puts it at ``destination`` (a direct-put
        URL) if one is given; the response is 200 (the result) or, only with a
        ``destination``, 204 (delivered)."""
        if not self.pod.running:
            raise TransformError(f"transformer {self.pod.name} is not running", 503)
        limit, why = self._limit(timeout)
        node_url = _node_url(pipeline, destination)
        headers = {"Ais-Node-Url": node_url} if node_url else {}
        try:
            if self.spec.comm == HPULL:
                method, url = "GET", self.pull_url(bucket, obj, fqn, etl_args)
            else:  # AIStore's default FQN mode: the transformer reads the file, no body
                method = "PUT"
                url = (f"{self.pod.url}/{quote(bucket, safe='')}/{quote(obj)}"
                       + _query(fqn, etl_args))
                headers["Content-Length"] = "0"
            # encoded: the URL is built quoted, so yarl need not parse and quote it again
            request = self.pod.session.request(method, URL(url, encoded=True), headers=headers,
                                               timeout=aiohttp.ClientTimeout(total=limit))
            async with request as resp:
                if resp.status >= 400:
                    raise self._failure(resp.status, await resp.read(), resp.content_type)
                if resp.status == 204 and not destination:
                    raise _no_result()  # "delivered", with nowhere to deliver to
                yield resp
        except TimeoutError:
            raise TransformError(f"ETL error: {self.spec.name} did not transform "
                                 f"ais://{bucket}/{obj} within {limit:g}s ({why})",
                                 400) from None
        except aiohttp.ClientError as err:
            raise TransformError(f"ETL error: cannot reach transformer {self.pod.name}: {err}",
                                 502) from None

    def _failure(self, status: int, body: bytes, content_type: str) -> TransformError:
        text = _error_text(body, content_type)
        if status in (405, 501) and self.spec.comm != HPULL and "Transfer-Encoding" not in text:
            text += (f" — the transformer answered {status} to PUT: with hpush:// AIStore sends "
                     "each object as PUT /<bucket>/<object>?etl_fqn=<file> with no body; make "
                     "the server handle PUT and read the object from the file named by etl_fqn")
        return TransformError(f"ETL error: {self._scrub(text)}", 500)

    def _scrub(self, text: str) -> str:
        """A transformer's words without the ETL's object-access secret (it echoes URLs)."""
        return text.replace(self._secret, "<secret>") if self._secret else text

    def _limit(self, timeout: float | None) -> tuple[float, str]:
        """How long one object may take, and what says so."""
        if timeout:
            return timeout, "the job's request_timeout"
        return self.spec.obj_timeout, "obj_timeout"

    async def transform(self, bucket: str, obj: str, fqn: str, etl_args: str,
                        pipeline: Sequence[str] = (), destination: str = "",
                        timeout: float | None = None) -> bytes | Delivered:
        """The whole result (see :meth:`open`), or :class:`Delivered` if it went straight to
        the ``destination``; ``timeout`` in place of the ETL's ``obj_timeout``."""
        if self.spec.comm == WS:
            return await self._ws(obj, fqn, etl_args, pipeline, destination, timeout)
        async with self.open(bucket, obj, fqn, etl_args, pipeline, destination,
                             timeout) as resp:
            if resp.status == 204:
                return Delivered(int(resp.headers.get("Ais-Direct-Put-Length", "0") or 0))
            try:
                return await resp.read()
            except aiohttp.ClientError as err:
                raise TransformError(f"ETL error: transformer {self.pod.name} broke off: {err}",
                                     502) from None

    # --- ws:// ------------------------------------------------------------------------------

    async def _ws(self, obj: str, fqn: str, etl_args: str, pipeline: Sequence[str],
                  destination: str, timeout: float | None) -> bytes | Delivered:
        if not self.pod.running:
            raise TransformError(f"transformer {self.pod.name} is not running", 503)
        limit, why = self._limit(timeout)
        ctrl = {"fqn": quote(fqn, safe=""), "path": obj}
        if etl_args:
            ctrl["etl_args"] = etl_args
        if node_url := _node_url(pipeline, destination):
            ctrl["pipeline"] = node_url
        ws = await self._ws_take()
        ok = False
        try:
            await ws.send_bytes(json.dumps(ctrl).encode())
            msg = await ws.receive(timeout=limit)
            if msg.type == aiohttp.WSMsgType.BINARY:
                ok = True
                return msg.data
            if msg.type == aiohttp.WSMsgType.TEXT:
                ok = True
                size = msg.data.strip()
                if size.isdigit() and node_url:
                    # The SDK's ws server answers a failed pipeline stage with "0" too.
                    if destination and not (pipeline and size == "0"):
                        return Delivered(int(size))
                    raise _no_result()
                raise TransformError(f"ETL error: {self._scrub(str(msg.data))}")
            raise TransformError(f"ETL error: transformer {self.pod.name} closed the websocket")
        except TimeoutError:
            raise TransformError(f"ETL error: {self.spec.name} did not transform {obj} within "
                                 f"{limit:g}s ({why})", 400) from None
        except aiohttp.ClientError as err:
            raise TransformError(f"ETL error: websocket to {self.pod.name} failed: {err}",
                                 502) from None
        finally:
            if ok and not ws.closed:
                self._ws_idle.append(ws)
            else:
                await ws.close()

    async def _ws_take(self) -> aiohttp.ClientWebSocketResponse:
        while self._ws_idle:
            ws = self._ws_idle.pop()
            if not ws.closed:
                return ws
        try:
            return await self.pod.session.ws_connect(f"{self.pod.url}/ws", max_msg_size=0,
                                                     autoping=False)
        except aiohttp.ClientError as err:
            raise TransformError(f"ETL error: cannot open websocket to {self.pod.name}: {err}",
                                 502) from None

    async def close(self) -> None:
        idle, self._ws_idle = self._ws_idle, []
        await asyncio.gather(*(ws.close() for ws in idle), return_exceptions=True)


def _node_url(pipeline: Sequence[str], destination: str) -> str:
    """``Ais-Node-Url``: the next stages, then where the last one puts the result."""
    return ",".join([*pipeline, destination] if destination else pipeline)


def _no_result() -> TransformError:
    """A "delivered" answer where nothing was to be put anywhere: a pipeline's later stage
    failed or produced nothing (the SDK answers both that way). Not an empty result."""
    return TransformError("ETL error: the pipeline returned no result: a later stage failed "
                          "or produced nothing (see its logs)")
