"""The app in a real terminal: tmux runs it, send-keys types, capture-pane reads the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from backend.local import LocalCluster
from tests.conftest import wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


# A server of its own: a session of the user's default server would start the app with that
# server's environment (its XDG directories, so not the test cluster's token).
SOCKET = f"aisetl-smoke-{uuid.uuid4().hex[:8]}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          check=True).stdout


def wait_screen(session: str, *needles: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if all(n in screen for n in needles):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"never saw {needles} on screen:\n{screen}")


def test_app_in_tmux(cluster: LocalCluster, client) -> None:
    client.bucket("tmux-smoke").create(exist_ok=True)
    session = f"aisetl-smoke-{uuid.uuid4().hex[:8]}"
    command = f"{sys.executable} -m aisetl_tui.cli --endpoint {cluster.endpoint}"
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        # the overview first: the nodes, the ETLs, the running jobs, the recent errors
        screen = wait_screen(session, "connected", "Cluster · 1 proxy, 2 targets",
                             "Running jobs", "Recent errors")
        assert "Traceback" not in screen
        tmux("send-keys", "-t", session, "1")
        screen = wait_screen(session, "buckets (", "tmux-smoke")
        tmux("send-keys", "-t", session, ":")
        wait_screen(session, "command (buckets")
        tmux("send-keys", "-t", session, "etls", "Enter")
        wait_screen(session, "STAGE", "COMM")
        tmux("send-keys", "-t", session, "?")
        wait_screen(session, "Keys of this screen", "etls.init_code")
        tmux("send-keys", "-t", session, "Escape")
        time.sleep(0.8)  # past tmux's escape-time, or Escape + q would arrive as Alt+q
        wait_for(lambda: "Keys of this screen" not in tmux("capture-pane", "-p", "-t", session),
                 timeout=20, what="the help to close")
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sessions = subprocess.run(["tmux", "-L", SOCKET, "has-session", "-t", session],
                                      capture_output=True)
            if sessions.returncode != 0:
                break  # the app quit and its session closed (and with it the server)
            time.sleep(0.1)
        else:
            raise AssertionError("q did not quit the app")
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        (Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / SOCKET).unlink(
            missing_ok=True)
        client.bucket("tmux-smoke").delete(missing_ok=True)
