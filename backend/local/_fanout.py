"""Requests from one node to others: one call, or the same call to every target."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import aiohttp
import msgspec

from ._auth import ClusterAuth
from ._errors import AISHTTPError
from ._smap import ClusterMap, Node

T = TypeVar("T")


class Fanout:
    """A node's outgoing requests, over its HTTP session (``session`` gives it once the node
    has started). A failure of any kind is an :class:`AISHTTPError` naming the node."""

    def __init__(self, smap: ClusterMap, session: Callable[[], aiohttp.ClientSession],
                 me: Node, auth: ClusterAuth) -> None:
        self.smap = smap
        self._session = session
        self.me, self.auth = me, auth

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._session()

    async def call(self, node: Node, method: str, path: str, body: Any = None,
                   timeout: float | None = None) -> bytes:
        """One request to a node; its error (AIStore JSON) is raised as our own."""
        data = msgspec.json.encode(body) if body is not None else None
        headers = {**self.auth.sender_headers(self.me),
                   **({"Content-Type": "application/json"} if data else {})}
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
        try:
            async with self.session.request(method, node.url + path, data=data,
                                               headers=headers, timeout=client_timeout) as resp:
                reply = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AISHTTPError(503, f"{node.pretty} is unreachable: {err!r}",
                               "ErrNodeUnreachable") from None
        if resp.status >= 400:
            raise node_error(resp.status, reply)
        return reply

    async def broadcast(self, method: str, path: str, body: Any = None,
                        timeout: float | None = None,
                        targets: list[Node] | None = None) -> list[bytes]:
        """The same request to every target (or those given), in order. Every target is asked
        even when one fails; then the first failure is raised."""
        nodes = self.smap.targets if targets is None else targets
        return await _all(self.call(t, method, path, body, timeout) for t in nodes)

    async def broadcast_json(self, method: str, path: str, body: Any = None,
                             targets: list[Node] | None = None,
                             missing_ok: bool = False) -> list[Any]:
        """:meth:`broadcast`, each answer decoded from JSON. ``missing_ok``: a target that
        answers 404 (it has no such thing) is left out rather than failing the call."""
        nodes = self.smap.targets if targets is None else targets
        call = self._call_unless_missing if missing_ok else self.call
        replies = await _all(call(t, method, path, body) for t in nodes)
        return [json.loads(r) for r in replies if r is not None]

    async def _call_unless_missing(self, node: Node, method: str, path: str,
                                   body: Any = None) -> bytes | None:
        try:
            return await self.call(node, method, path, body)
        except AISHTTPError as err:
            if err.status == 404:
                return None
            raise


async def _all(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Every call's result, in order, once all have ended; then the first failure raised."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def node_error(status: int, reply: bytes) -> AISHTTPError:
    """A node's error answer (AIStore's error JSON, or plain text) as our own error."""
    try:
        info = json.loads(reply)
        return AISHTTPError(status, info["message"], info.get("tcode", ""))
    except (ValueError, KeyError, TypeError):
        return AISHTTPError(status, reply.decode(errors="replace"))
