"""The target's way into a pod's network (``_podnet``), on a real network namespace: what a
transformer sends through a relay arrives whole and in order, both ways, a half-closed side
is passed on, and nothing of this machine is reachable from inside but what is relayed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
from collections.abc import Iterator

import pytest

from backend.local.etl._podnet import PodNet, host_port
from backend.local.etl._sandbox import (
    CLONE_NEWNET,
    CLONE_NEWUSER,
    OWN_NETWORK,
    _bring_up_loopback,
    _unshare,
    serve_socket,
)

SIZE = 48 * 2**20


@pytest.fixture
def pod_net() -> Iterator[PodNet]:
    """A process alone in a new network namespace (loopback up) that makes sockets there for
    the test, as a pod's launcher does for its target."""
    control, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            control.close()
            _unshare(CLONE_NEWNET | (0 if os.geteuid() == 0 else CLONE_NEWUSER))
            _bring_up_loopback()
            theirs.sendall(OWN_NETWORK)
            while serve_socket(theirs):
                pass
        finally:
            os._exit(0)
    theirs.close()
    assert control.recv(1) == OWN_NETWORK
    try:
        yield PodNet(control)
    finally:
        control.close()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


async def digest_server() -> tuple[asyncio.Server, int]:
    """A server of this machine that reads to the end, then answers the data's SHA-256."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        digest = hashlib.sha256()
        while chunk := await reader.read(1 << 20):
            digest.update(chunk)
        writer.write(digest.hexdigest().encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_relay_carries_everything_both_ways_and_passes_a_half_close(pod_net) -> None:
    server, port = await digest_server()
    try:
        pod_net.relay(port, host_port(port))
        data = os.urandom(SIZE)
        sock = await pod_net.connect(port)  # from inside the pod, to the relay
        loop = asyncio.get_running_loop()
        answer = b""
        async with asyncio.timeout(30):
            await loop.sock_sendall(sock, data)
            sock.shutdown(socket.SHUT_WR)  # the server answers only at the end of the data
            while chunk := await loop.sock_recv(sock, 1024):
                answer += chunk
        sock.close()
        assert answer.decode() == hashlib.sha256(data).hexdigest()
    finally:
        await pod_net.close()
        server.close()


async def test_from_inside_only_what_is_relayed_is_reachable(pod_net) -> None:
    relayed, relayed_port = await digest_server()
    other, other_port = await digest_server()
    try:
        pod_net.relay(relayed_port, host_port(relayed_port))
        (await pod_net.connect(relayed_port)).close()
        with pytest.raises(ConnectionRefusedError):
            await pod_net.connect(other_port)
    finally:
        await pod_net.close()
        relayed.close()
        other.close()


async def test_a_closed_pod_net_stops_relaying(pod_net) -> None:
    server, port = await digest_server()
    try:
        pod_net.relay(port, host_port(port))
        inside = pod_net.socket()  # made before the relays stop: the namespace is still there
        await pod_net.close()
        inside.setblocking(False)
        with pytest.raises(ConnectionError):  # (refused, or reset by the closing listener)
            await asyncio.get_running_loop().sock_connect(inside, ("127.0.0.1", port))
        inside.close()
    finally:
        server.close()
