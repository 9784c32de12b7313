"""Clients that trickle their headers, or open connections and say nothing, are let go after
the idle timeout (AIStore's ReadHeaderTimeout): each would otherwise hold a file descriptor of
the node for good, and enough of them would starve it. A slow request that is being sent is
not cut."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import psutil

from backend.local import LocalCluster, RunInfo
from tests.conftest import auth_headers, wait_for

TIMEOUT = 1.5


def proxy_pid(cluster: LocalCluster) -> int:
    info = RunInfo.read(cluster.data_dir)
    assert info is not None and cluster.smap is not None
    return info.nodes[cluster.smap.proxy.daemon_id]


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_trickling_and_silent_connections_are_let_go_but_a_slow_upload_is_not(
        tmp_path: Path) -> None:
    with LocalCluster(tmp_path / "c", targets=1, port=0, idle_timeout=TIMEOUT) as cluster:
        host, port = cluster.endpoint.removeprefix("http://").split(":")
        proxy = psutil.Process(proxy_pid(cluster))
        fds_before = proxy.num_fds()
        trickling = [socket.create_connection((host, int(port))) for _ in range(100)]
        silent = [socket.create_connection((host, int(port))) for _ in range(100)]
        for sock in trickling:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\n")
        # all held by the proxy, or (a machine slow enough to take the timeout to accept them)
        # the first already let go
        wait_for(lambda: proxy.num_fds() >= fds_before + 200 or closed_by_server(silent[0]),
                 what="the connections accepted")

        # a slow upload through the same proxy, sent for twice the timeout
        with httpx.Client(base_url=cluster.endpoint, headers=auth_headers(),
                          follow_redirects=True, timeout=30) as http:
            http.post("/v1/buckets/slow", json={"action": "create-bck"}).raise_for_status()

            def body():
                for _ in range(6):
                    yield b"x" * 100
                    time.sleep(TIMEOUT / 3)

            # (sent to the target the proxy redirects to: a body streamed once cannot follow)
            target = http.put("/v1/objects/slow/obj", follow_redirects=False).headers["location"]
            result: dict[str, object] = {}

            def put() -> None:
                try:
                    result["status"] = http.put(target, content=body()).status_code
                except httpx.HTTPError as err:
                    result["status"] = repr(err)

            upload = threading.Thread(target=put)
            upload.start()
            started = time.monotonic()
            while time.monotonic() - started < TIMEOUT * 1.5:  # headers, a byte at a time
                for sock in trickling:
                    if not closed_by_server(sock):
                        sock.sendall(b"X")
                time.sleep(0.2)
            wait_for(lambda: all(closed_by_server(s) for s in trickling + silent),
                     timeout=TIMEOUT * 4, what="every stalled connection closed")
            upload.join(30)
            assert result.get("status") == 200  # sent over 2 s: not cut
            assert http.get("/v1/objects/slow/obj").content == b"x" * 600
            assert http.get("/v1/health").status_code == 200
        wait_for(lambda: proxy.num_fds() <= fds_before + 5, what="the proxy's descriptors freed")
        for sock in trickling + silent:
            sock.close()


def test_a_request_left_unfinished_does_not_hold_up_a_stop(tmp_path: Path) -> None:
    """A stopping node gives requests under way a few seconds (SHUTDOWN_TIMEOUT), then stops
    its jobs and transformers: within the supervisor's grace, not after its SIGKILL."""
    from backend.local._cluster import STOP_TIMEOUT
    from backend.local._node import SHUTDOWN_TIMEOUT

    with LocalCluster(tmp_path / "c", targets=1, port=0) as cluster:
        with httpx.Client(base_url=cluster.endpoint, headers=auth_headers(), timeout=30) as http:
            http.post("/v1/buckets/b", json={"action": "create-bck"}).raise_for_status()
        target = cluster.smap.targets[0]
        # an upload whose body never comes, straight to the target
        stalled = socket.create_connection(("127.0.0.1", target.port))
        stalled.sendall(b"PUT /v1/objects/b/o HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Length: 1000000\r\n" +
                        f"Authorization: {auth_headers()['Authorization']}\r\n\r\n".encode()
                        + b"x" * 1000)
        time.sleep(0.5)
        started = time.monotonic()
        cluster.stop()
        took = time.monotonic() - started
        stalled.close()
    assert took < SHUTDOWN_TIMEOUT + 2 < STOP_TIMEOUT, took
