"""One pod's log from Kubernetes, followed live.

The follow runs in a thread worker that loops on a stop Event (set when the screen goes
away, and by ``r``); the client's own stopper ends a quiet stream within about 0.1 s. The
thread only appends to a bounded deque under a lock; a timer on the event loop moves the
lines into a bounded RichLog in batches, so a busy pod cannot flood the message queue.
"""

from __future__ import annotations

import threading
from collections import deque

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import RichLog

from backend.kube import KubeClient, KubeError, KubePod, main_container

from ._base import AppScreen

MAX_LINES = 5000
TAIL_LINES = 500
DRAIN_EVERY = 0.1


class KubeLogsScreen(AppScreen):
    TITLE_TEXT = "logs"
    BINDINGS = [
        Binding("f", "follow", "Scroll on/off", id="kube_logs.follow"),
        Binding("p", "previous", "Previous run", id="kube_logs.previous"),
        Binding("r", "restart", "Reconnect", id="kube_logs.restart"),
        Binding("c", "clear", "Clear", id="kube_logs.clear"),
        Binding("o", "other_container", "Other container", id="kube_logs.container"),
    ]

    def __init__(self, kube: KubeClient, pod: str, containers: tuple[str, ...] = (),
                 container: str | None = None) -> None:
        """``containers``: the pod's, to switch between; ``container``: the one shown first
        (Kubernetes needs one named when the pod has several, e.g. with an injected
        sidecar)."""
        super().__init__()
        self.kube = kube
        self.pod = pod
        self.containers = containers
        self.container = container or (containers[0] if containers else None)
        self.lines_seen = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: deque[str | Text] = deque(maxlen=MAX_LINES)

    @classmethod
    def for_pod(cls, kube: KubeClient, pod: KubePod) -> KubeLogsScreen:
        """The log of ``pod``'s main container (not a sidecar's), its others a key away."""
        return cls(kube, pod.name, tuple(c.name for c in pod.containers), main_container(pod))

    def title_text(self) -> str:
        return f"logs {self.pod}" + (f" · {self.container}" if self.container else "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other_container" and len(self.containers) < 2:
            return False
        return super().check_action(action, parameters)

    def action_other_container(self) -> None:
        """The next container's log (k9s' container picker, one key)."""
        at = self.containers.index(self.container) if self.container in self.containers else -1
        self.container = self.containers[(at + 1) % len(self.containers)]
        self.retitle()
        self.log_view.clear()
        self._put(Text(f"— container {self.container} —", style="cyan"))
        self._start()

    def compose_body(self) -> ComposeResult:
        yield RichLog(max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True, id="log")

    @property
    def log_view(self) -> RichLog:
        return self.query_one("#log", RichLog)

    def focus_main(self) -> None:
        self.log_view.focus()

    def on_mount(self) -> None:
        self.set_interval(DRAIN_EVERY, self._drain)
        self._start()

    def on_unmount(self) -> None:
        self._stop.set()

    def _start(self) -> None:
        self._stop.set()  # the previous follow, if any, ends within about 0.1 s
        self._stop = threading.Event()
        self._follow(self._stop)

    def _put(self, item: str | Text) -> None:
        with self._lock:
            self._pending.append(item)

    @work(thread=True, exclusive=True, group="follow")
    def _follow(self, stop: threading.Event) -> None:
        try:
            for line in self.kube.follow_logs(self.pod, stop=stop, tail_lines=TAIL_LINES,
                                              idle_timeout=30.0, container=self.container):
                self._put(line)
        except KubeError as err:
            if not stop.is_set():
                self._put(Text(f"— Kubernetes: {err} (r reconnects) —", style="red"))
            return
        if not stop.is_set():
            self._put(Text("— the log ended: the container exited (p: the previous run's log, "
                           "r: follow again) —", style="dim"))

    def _drain(self) -> None:
        with self._lock:
            if not self._pending:
                return
            items = list(self._pending)
            self._pending.clear()
        self.lines_seen += len(items)
        batch: list[str] = []
        for item in items:
            if isinstance(item, str):
                batch.append(item)
                continue
            if batch:
                self.log_view.write(Text("\n".join(batch)))
                batch = []
            self.log_view.write(item)
        if batch:
            self.log_view.write(Text("\n".join(batch)))

    def action_follow(self) -> None:
        self.log_view.auto_scroll = not self.log_view.auto_scroll
        self.notify("scrolling with the log" if self.log_view.auto_scroll else "paused")

    def action_restart(self) -> None:
        self._put(Text("— reconnecting —", style="dim"))
        self._start()

    def action_clear(self) -> None:
        self.log_view.clear()

    def action_previous(self) -> None:
        self._previous()

    @work(thread=True, exclusive=True, group="previous")
    def _previous(self) -> None:
        try:
            lines = self.kube.logs(self.pod, tail_lines=TAIL_LINES, previous=True,
                                   container=self.container)
        except KubeError as err:
            self._put(Text(f"— no previous run's log: {err} —", style="yellow"))
            return
        self._put(Text(f"— the previous run's last {len(lines)} lines —", style="cyan"))
        for line in lines:
            self._put(line)
        self._put(Text("— end of the previous run —", style="cyan"))


class SavedLogScreen(AppScreen):
    """Lines of a log kept after its pod went (Kubernetes has nothing more to give)."""

    TITLE_TEXT = "logs"

    def __init__(self, pod: str, lines: list[str], note: str) -> None:
        super().__init__()
        self.pod, self.lines, self.note = pod, lines, note

    def title_text(self) -> str:
        return f"logs {self.pod} (deleted)"

    def compose_body(self) -> ComposeResult:
        yield RichLog(max_lines=MAX_LINES, wrap=False, markup=False, id="log")

    def on_mount(self) -> None:
        log = self.query_one("#log", RichLog)
        if not self.lines:
            log.write(Text(f"no log lines were read from {self.pod} before it was deleted "
                           "(the app saw it only once it was gone)", style="yellow"))
            return
        log.write(Text(f"— {self.note} —", style="cyan"))
        for line in self.lines:
            log.write(line)

    def focus_main(self) -> None:
        self.query_one("#log", RichLog).focus()
