"""One pod's log from Kubernetes, followed live, searchable (see
:class:`~aisetl_tui.widgets.log_view.LogView`).

The follow runs in a thread worker that loops on a stop Event (set when the screen goes
away, and by ``r``); the client's own stopper ends a quiet stream within about 0.1 s. The
thread only appends to a bounded deque under a lock; a timer on the event loop moves the
lines into the bounded view in batches, so a busy pod cannot flood the message queue. Lines
come with Kubernetes' timestamps, so the previous run's log falls into place before them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from backend.kube import KubeClient, KubeError, KubePod, main_container

from ..log_lines import MAX_LINES
from ..widgets.log_view import LogView
from ._base import AppScreen

TAIL_LINES = 500
DRAIN_EVERY = 0.1


@dataclass(frozen=True)
class Note:
    """The screen's own words among the log lines."""

    text: str
    style: str = "dim italic"


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
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: deque[str | Note] = deque(maxlen=MAX_LINES)

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
        self._put(Note(f"container {self.container}", "cyan"))
        self._start()

    def compose_body(self) -> ComposeResult:
        yield LogView(id="logs")

    @property
    def log_view(self) -> LogView:
        return self.query_one("#logs", LogView)

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

    def _put(self, item: str | Note) -> None:
        with self._lock:
            self._pending.append(item)

    @work(thread=True, exclusive=True, group="follow")
    def _follow(self, stop: threading.Event) -> None:
        try:
            for line in self.kube.follow_logs(self.pod, stop=stop, tail_lines=TAIL_LINES,
                                              idle_timeout=30.0, container=self.container,
                                              timestamps=True):
                self._put(line)
        except KubeError as err:
            if not stop.is_set():
                self._put(Note(f"Kubernetes: {err} (r reconnects)", "red"))
            return
        if not stop.is_set():
            self._put(Note("the log ended: the container exited (p: the previous run's log, "
                           "r: follow again)"))

    def _drain(self) -> None:
        with self._lock:
            if not self._pending:
                return
            items = list(self._pending)
            self._pending.clear()
        batch: list[str] = []
        for item in [*items, None]:
            if isinstance(item, str):
                batch.append(item)
                continue
            if batch:
                self.log_view.add([(self.pod, batch)], stamped=True)
                batch = []
            if item is not None:
                self.log_view.note(item.text, item.style)

    def action_follow(self) -> None:
        view = self.log_view
        view.follow(not view.rich_log.auto_scroll)
        self.notify("scrolling with the log" if view.rich_log.auto_scroll else "paused")

    def action_restart(self) -> None:
        self._put(Note("reconnecting"))
        self._start()

    def action_clear(self) -> None:
        self.log_view.clear()

    def action_previous(self) -> None:
        self._previous()

    @work(thread=True, exclusive=True, group="previous")
    def _previous(self) -> None:
        try:
            lines = self.kube.logs(self.pod, tail_lines=TAIL_LINES, previous=True,
                                   container=self.container, timestamps=True)
        except KubeError as err:
            self._put(Note(f"no previous run's log: {err}", "yellow"))
            return
        self._put(Note(f"the previous run's last {len(lines)} lines, in time order with the "
                       "current run's", "cyan"))
        for line in lines:
            self._put(line)


class SavedLogScreen(AppScreen):
    """Lines of a log kept after its pod went (Kubernetes has nothing more to give)."""

    TITLE_TEXT = "logs"

    def __init__(self, pod: str, lines: list[str], note: str) -> None:
        super().__init__()
        self.pod, self.lines, self.note = pod, lines, note

    def title_text(self) -> str:
        return f"logs {self.pod} (deleted)"

    def compose_body(self) -> ComposeResult:
        yield LogView(id="logs")

    def on_mount(self) -> None:
        view = self.query_one("#logs", LogView)
        if not self.lines:
            view.note(f"no log lines were read from {self.pod} before it was deleted "
                      "(the app saw it only once it was gone)", "yellow")
            return
        view.note(self.note, "cyan")
        view.add([(self.pod, self.lines)])

    def focus_main(self) -> None:
        self.query_one("#logs", LogView).focus()
