"""Entry point of one cluster node process (proxy or target), started by the supervisor.

The supervisor binds the listening socket and passes its file descriptor, so a node that is
restarted after a crash comes back on the same port and the cluster map never changes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from pathlib import Path

import uvloop
from aiohttp import web

from ._auth import ClusterAuth
from ._proxy import Proxy
from ._smap import ClusterMap
from ._target import Target
from ._xact import IDLE_FOR

PARENT_CHECK_SECONDS = 1.0
# AIStore's ReadHeaderTimeout; above aiohttp's client keep-alive (15 s), so the nodes' own
# kept-alive connections to each other are let go by their client side first
IDLE_TIMEOUT = 16.0
# How long a stopping node lets requests under way finish before it closes their connections
# and stops its jobs and transformers: all of that within the supervisor's STOP_TIMEOUT (10 s)
# before its SIGKILL (aiohttp's default is 60 s)
SHUTDOWN_TIMEOUT = 3.0


async def serve(app: web.Application, sock: socket.socket, idle_timeout: float) -> None:
    """Serve ``app`` on ``sock``. A connection that has not sent a whole request within
    ``idle_timeout`` seconds of opening, or of the last answer, is closed: as AIStore's
    ``ReadHeaderTimeout``, it ends clients that trickle headers (each would hold a file
    descriptor for ever) and idle kept-alive connections. A request being read or handled
    is never cut."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           keepalive_timeout=idle_timeout, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    host, port = sock.getsockname()[:2]
    logging.getLogger("aisetl.cluster").info("serving on %s:%s", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    try:
        while not stop.is_set():  # an orphaned node exits instead of holding its port
            if os.getppid() != parent:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PARENT_CHECK_SECONDS)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["proxy", "target"], required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--smap", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--auth-fd", type=int, required=True,
                        help="a pipe the supervisor wrote this run's credentials into")
    parser.add_argument("--promote-root", type=Path, default=None,
                        help="the only tree files are promoted from")
    parser.add_argument("--fsync-put", action="store_true",
                        help="fsync every PUT (AIStore's Fsync-PUT feature; off by default)")
    parser.add_argument("--job-idle", type=float, default=IDLE_FOR, metavar="SECONDS",
                        help="how long a job of a kind that idles waits for more work")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT, metavar="SECONDS",
                        help="close a connection with no whole request in this long")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s {args.role} {args.id} %(levelname)s %(message)s")
    auth = ClusterAuth.read(args.auth_fd)
    smap = ClusterMap.load(args.smap)
    if args.role == "proxy":
        app = Proxy(smap, args.root, auth).app()
    else:
        node = smap.target(args.id)
        if node is None:
            raise SystemExit(f"target {args.id} is not in the cluster map {args.smap}")
        app = Target(smap, node, args.root, auth, args.fsync_put, args.promote_root,
                     args.job_idle).app()
    sock = socket.socket(fileno=args.fd)
    if args.role == "proxy":
        uvloop.run(serve(app, sock, args.idle_timeout))  # redirects only: the fastest loop
    else:  # asyncio's loop has zero-copy sendfile for large GETs
        asyncio.run(serve(app, sock, args.idle_timeout))


if __name__ == "__main__":
    main()
