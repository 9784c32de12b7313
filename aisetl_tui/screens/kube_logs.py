"""Logs from Kubernetes, followed live and searchable (see
:class:`~aisetl_tui.widgets.log_view.LogView`): one pod's, or every transformer pod of an ETL
merged by time, each line prefixed by its target.

Each pod is followed in a thread worker that loops on a stop Event (set when the screen goes
away, and by ``r``); the client's own stopper ends a quiet stream within about 0.1 s. The
threads only append to one bounded deque under a lock; a timer on the event loop moves the
lines into the bounded view in batches, so busy pods cannot flood the message queue. Lines
come with Kubernetes' timestamps, so pods interleave by time and a previous run's log falls
into place before the current one's.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace
from functools import partial

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


@dataclass(frozen=True)
class PodLog:
    """A pod to follow: ``source`` prefixes its lines (its target's ID, or its own name);
    ``containers`` are the pod's, ``container`` the one followed."""

    source: str
    pod: str
    containers: tuple[str, ...] = ()
    container: str | None = None

    @classmethod
    def of(cls, pod: KubePod, source: str = "") -> PodLog:
        """``pod``'s main container (not a sidecar's), its others a key away."""
        return cls(source or pod.name, pod.name, tuple(c.name for c in pod.containers),
                   main_container(pod))


class KubeLogsScreen(AppScreen):
    TITLE_TEXT = "logs"
    BINDINGS = [
        Binding("f", "follow", "Scroll on/off", id="kube_logs.follow"),
        Binding("p", "previous", "Previous run", id="kube_logs.previous"),
        Binding("r", "restart", "Reconnect", id="kube_logs.restart"),
        Binding("c", "clear", "Clear", id="kube_logs.clear"),
        Binding("o", "other_container", "Other container", id="kube_logs.container"),
    ]

    def __init__(self, kube: KubeClient, logs: list[PodLog], what: str = "") -> None:
        """``logs``: the pods to follow, merged; ``what`` names them in the title (an ETL's
        name; one pod names itself)."""
        super().__init__()
        self.kube, self.logs, self.what = kube, logs, what
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: deque[tuple[str, str] | Note] = deque(maxlen=MAX_LINES)

    @classmethod
    def for_pod(cls, kube: KubeClient, pod: KubePod) -> KubeLogsScreen:
        return cls(kube, [PodLog.of(pod)])

    @classmethod
    def for_etl(cls, kube: KubeClient, etl: str, pods: dict[str, KubePod]) -> KubeLogsScreen:
        """Every transformer pod of ``etl`` (target ID → its pod), merged by time."""
        return cls(kube, [PodLog.of(pod, target) for target, pod in sorted(pods.items())], etl)

    def title_text(self) -> str:
        if len(self.logs) == 1 and not self.what:
            log = self.logs[0]
            return f"logs {log.pod}" + (f" · {log.container}" if log.container else "")
        return f"logs {self.what} · {len(self.logs)} pods"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other_container" and (len(self.logs) != 1
                                            or len(self.logs[0].containers) < 2):
            return False
        return super().check_action(action, parameters)

    def action_other_container(self) -> None:
        """The next container's log (k9s' container picker, one key)."""
        log = self.logs[0]
        at = log.containers.index(log.container) if log.container in log.containers else -1
        self.logs = [replace(log, container=log.containers[(at + 1) % len(log.containers)])]
        self.retitle()
        self.log_view.clear()
        self._put(Note(f"container {self.logs[0].container}", "cyan"))
        self._start()

    def compose_body(self) -> ComposeResult:
        yield LogView(sources="target" if self.what else "", id="logs")

    @property
    def log_view(self) -> LogView:
        return self.query_one("#logs", LogView)

    def focus_main(self) -> None:
        self.log_view.focus()

    def on_mount(self) -> None:
        self.set_interval(DRAIN_EVERY, self._drain)
        if not self.logs:
            self._put(Note(f"Kubernetes has no transformer pod of {self.what}", "yellow"))
        self._start()

    def on_unmount(self) -> None:
        self._stop.set()

    def _start(self) -> None:
        self._stop.set()  # the previous follows, if any, end within about 0.1 s
        self._stop = threading.Event()
        for log in self.logs:
            self.run_worker(partial(self._follow, log, self._stop), thread=True,
                            group="follow")

    def _put(self, item: tuple[str, str] | Note) -> None:
        with self._lock:
            self._pending.append(item)

    def _named(self, log: PodLog, text: str) -> str:
        return f"{log.source}: {text}" if len(self.logs) > 1 else text

    def _follow(self, log: PodLog, stop: threading.Event) -> None:
        try:
            for line in self.kube.follow_logs(log.pod, stop=stop, tail_lines=TAIL_LINES,
                                              idle_timeout=30.0, container=log.container,
                                              timestamps=True):
                self._put((log.source, line))
        except KubeError as err:
            if not stop.is_set():
                self._put(Note(self._named(log, f"Kubernetes: {err} (r reconnects)"), "red"))
            return
        if not stop.is_set():
            self._put(Note(self._named(log, "the log ended: the container exited (p: the "
                                            "previous run's log, r: follow again)")))

    def _drain(self) -> None:
        with self._lock:
            if not self._pending:
                return
            items = list(self._pending)
            self._pending.clear()
        batch: dict[str, list[str]] = {}
        for item in [*items, None]:
            if isinstance(item, tuple):
                batch.setdefault(item[0], []).append(item[1])
                continue
            if batch:
                self.log_view.add(list(batch.items()), stamped=True)
                batch = {}
            if item is not None:
                self.log_view.note(item.text, item.style)

    def action_follow(self) -> None:
        view = self.log_view
        view.follow(not view.following)
        self.notify("scrolling with the log" if view.following else "paused")

    def action_restart(self) -> None:
        self._put(Note("reconnecting"))
        self._start()

    def action_clear(self) -> None:
        self.log_view.clear()

    def action_previous(self) -> None:
        for log in self.logs:
            self.run_worker(partial(self._previous, log), thread=True, group="previous")

    def _previous(self, log: PodLog) -> None:
        try:
            lines = self.kube.logs(log.pod, tail_lines=TAIL_LINES, previous=True,
                                   container=log.container, timestamps=True)
        except KubeError as err:
            self._put(Note(self._named(log, f"no previous run's log: {err}"), "yellow"))
            return
        self._put(Note(self._named(log, f"the previous run's last {len(lines)} lines, in "
                                        "time order with the current run's"), "cyan"))
        for line in lines:
            self._put((log.source, line))


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
