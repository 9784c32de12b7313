"""A pod's own network, as its target reaches it: the sandbox gave the transformer a network
namespace holding only loopback (see ``_sandbox``), so no other process of this machine can
reach its port, and it can reach nothing of the machine's.

The target gets its sockets inside that namespace from the pod's launcher, which lives in it
(a socket stays in the namespace it was made in, whoever uses it later): the connections it
opens to the transformer, and the listeners it relays from, inside the pod, to what a pod may
reach (the targets' ports, for ``AIS_TARGET_URL`` and direct put; a pipeline's next
transformer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable

from .._smap import HOST
from ._sandbox import GO, MADE

RELAY_BUFFER = 64 * 1024
RELAYED_AT_ONCE = 64  # connections a pod may have relayed at a time (the rest wait): each
# costs its target memory and descriptors outside the pod's limits
CONTROL_TIMEOUT = 5.0  # s a launcher may take to make a socket (it answers in microseconds)

Connect = Callable[[], Awaitable[socket.socket]]  # a connected non-blocking socket


class PodNet:
    """The network of one pod, reached through its launcher's ``control`` socket, and the
    relays the target serves inside it."""

    def __init__(self, control: socket.socket) -> None:
        control.settimeout(CONTROL_TIMEOUT)
        self._control = control
        self._relays: dict[int, asyncio.Task] = {}  # by port: its accepting loop
        self._routes: dict[int, Connect] = {}  # by port: where it leads
        self._tasks: set[asyncio.Task] = set()  # the connections it joins
        self._slots = asyncio.Semaphore(RELAYED_AT_ONCE)

    def socket(self, family: int = socket.AF_INET, type_: int = socket.SOCK_STREAM,
               proto: int = 0) -> socket.socket:
        """A new socket in the pod's network (a request to its launcher, answered at once)."""
        if type_ != socket.SOCK_STREAM:
            raise OSError(f"a pod's sockets are TCP streams, not type {type_}")
        self._control.sendall(bytes([family]))
        answer, fds, _flags, _addr = socket.recv_fds(self._control, 1, 1)
        if answer != MADE or not fds:
            for fd in fds:
                socket.close(fd)
            raise OSError(f"the pod's launcher could not make a socket of family {family}"
                          if answer else "the pod's launcher is gone")
        os.set_inheritable(fds[0], False)  # (as a socket made here would be)
        return socket.socket(family, type_, proto, fileno=fds[0])

    def ready(self) -> None:
        """Tell the launcher the relays listen: it starts the transformer."""
        self._control.sendall(GO)

    def socket_factory(self, addr_info: tuple) -> socket.socket:
        """For aiohttp's connector: its connections to the transformer open inside the pod."""
        family, type_, proto, _, _ = addr_info
        return self.socket(family, type_, proto)

    async def connect(self, port: int) -> socket.socket:
        """A connection to ``port`` on the pod's own loopback."""
        return await _connected(self.socket(), port)

    def relay(self, port: int, connect: Connect) -> None:
        """Listen on ``port`` of the pod's loopback and join each connection made there to
        one that ``connect`` opens (asked again, the port leads there from then on: the
        port of a pod let go may be another pod's now)."""
        self._routes[port] = connect
        if port in self._relays:
            return
        listener = self.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, port))
        listener.listen(128)
        listener.setblocking(False)
        self._relays[port] = asyncio.create_task(self._accept(listener, port))

    async def _accept(self, listener: socket.socket, port: int) -> None:
        loop = asyncio.get_running_loop()
        with listener:
            while True:
                await self._slots.acquire()
                try:
                    inside, _ = await loop.sock_accept(listener)
                except OSError:  # out of descriptors, say: the pod's connection waits
                    self._slots.release()
                    await asyncio.sleep(0.1)
                    continue
                except BaseException:
                    self._slots.release()
                    raise
                inside.setblocking(False)
                task = asyncio.create_task(_join(inside, self._routes[port]))
                self._tasks.add(task)
                task.add_done_callback(self._joined)

    def _joined(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def close(self) -> None:
        """Stop relaying, and hang up on the launcher; the namespace goes with the pod's
        last process."""
        tasks = [*self._relays.values(), *self._tasks]
        self._relays = {}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._control.close()


def host_port(port: int) -> Connect:
    """``connect`` for a relay to ``port`` of this machine's loopback (a target's)."""
    return lambda: _connected(socket.socket(), port)


async def _connected(sock: socket.socket, port: int) -> socket.socket:
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def _join(inside: socket.socket, connect: Connect) -> None:
    """Copy between ``inside`` and what ``connect`` opens, both ways until both sides are
    done; then close both."""
    with inside:
        try:
            outside = await connect()
        except OSError:
            return
        with outside:
            await asyncio.gather(_pump(inside, outside), _pump(outside, inside))


async def _pump(src: socket.socket, dst: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    buffer = bytearray(RELAY_BUFFER)
    view = memoryview(buffer)
    try:
        while n := await loop.sock_recv_into(src, buffer):
            await loop.sock_sendall(dst, view[:n])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
