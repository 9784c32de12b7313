"""Transformer pods: one row per ETL per target, AIStore's health and metrics merged with
what Kubernetes says about the pod (node, state, restarts, why it is not running).

Kubernetes is asked only when there is one: never for the embedded cluster, and without a
kubeconfig the screen says so once and shows AIStore's view. AIStore is polled; Kubernetes'
transformer pods are watched from a thread, so a pod that crashes or restarts shows at once.
Until the watch has its first list, and after it fails, each poll lists them instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from backend.ais import AisClient, EtlFailure, EtlPod, parse_etl_error
from backend.kube import (
    ETL_SELECTOR,
    KubeClient,
    KubeError,
    KubePod,
    MetricsUnavailable,
    PodChange,
    PodMetrics,
    main_container,
    match_transformer_pods,
)

from ..rates import human_bytes, human_duration
from ..widgets.table import KeyedTable
from ._base import PollingScreen
from .kube_cluster import KubeClusterScreen
from .kube_describe import KubeDescribeScreen
from .kube_events import KubeEventsScreen
from .kube_logs import KubeLogsScreen, SavedLogScreen
from .logs import LogsScreen

# POD (always <etl>-<target id lower>) comes last, so that what matters fits 80 columns; with
# Kubernetes, REASON follows STATE.
BASE_COLUMNS = ["ETL", "TARGET", "NODE", "STATE", "RESTARTS", "AGE"]
KUBE_COLUMNS = ["ETL", "TARGET", "NODE", "STATE", "REASON", "RESTARTS", "AGE"]
# CPU and memory: from metrics.k8s.io when Kubernetes has them, else AIStore's; the header
# names the source ("" for none)
MetricsSource = Literal["", "k8s", "ais"]
STATE_STYLE = {"Running": "green", "Pending": "yellow", "Failed": "red", "Succeeded": "dim",
               "Stopped": "dim"}
KUBE_RETRY = 30.0  # after Kubernetes failed to answer, ask again this much later
WATCH_RENDER_DELAY = 0.05  # a burst of pod changes is shown in one repaint
QUIET_REASONS = {"Running", "Pending", "Succeeded", "Completed", ""}
GONE_KEEP = 3600.0  # a deleted pod's row stays this long (Kubernetes keeps events an hour)
LAST_LINES = 200  # of a pod's log, taken when it is seen ending (AIStore deletes it next)
GONE_MAX = 64  # and at most this many of them


@dataclass(frozen=True)
class GonePod:
    """A transformer pod that disappeared from Kubernetes: AIStore deletes a pod as soon as
    its container terminates, so this last state is often the only trace of a crash."""

    pod: KubePod  # as last seen, with what it was before its deletion began as its reason
    when: float  # unix seconds it was found gone

    @classmethod
    def of(cls, pod: KubePod, when: float) -> GonePod:
        return cls(replace(pod, reason=pod.cause, message=pod.cause_message), when)


@dataclass(frozen=True)
class MergedPod:
    """One ETL's transformer on one target: what AIStore and Kubernetes each say (or None),
    and the last state of its pod if Kubernetes no longer has it."""

    etl: str
    target_id: str
    ais: EtlPod | None
    kube: KubePod | None
    gone: GonePod | None = None

    @property
    def key(self) -> str:
        return f"{self.etl}/{self.target_id}"

    @property
    def pod_name(self) -> str:
        if self.kube is not None:
            return self.kube.name
        return self.ais.pod_name if self.ais is not None else f"{self.etl}-{self.target_id.lower()}"


@dataclass(frozen=True)
class PodsData:
    pods: list[MergedPod]
    with_kube: bool  # whether Kubernetes answered (the REASON column, its node and state)


def kube_reason(pod: KubePod) -> str:
    """Why the pod is not running, in kubectl's words, with the last crash's cause when it
    adds something: ``CrashLoopBackOff (OOMKilled)``, ``ImagePullBackOff``, ``Unschedulable``."""
    reason = pod.reason if pod.reason not in QUIET_REASONS else ""
    if pod.phase == "Running" and not pod.ready and not reason:
        reason = "NotReady"
    last = next((c.last_reason for c in pod.containers if c.last_reason), "")
    if last and last not in reason and (reason or pod.restarts):
        reason = f"{reason} ({last})" if reason else f"last: {last}"
    return reason


def merge(ais_pods: list[EtlPod], kube_pods: dict[tuple[str, str], KubePod] | None,
          only: str | None, gone: dict[tuple[str, str], GonePod] | None = None
          ) -> list[MergedPod]:
    by_key: dict[tuple[str, str], EtlPod] = {(p.etl, p.target_id): p for p in ais_pods}
    kube_pods, gone = kube_pods or {}, gone or {}
    keys = list(by_key)
    for key in [*kube_pods, *gone]:
        if key not in keys and (only is None or key[0] == only):
            keys.append(key)
    return [MergedPod(etl, tid, by_key.get((etl, tid)), kube_pods.get((etl, tid)),
                      None if (etl, tid) in kube_pods else gone.get((etl, tid)))
            for etl, tid in keys]


def note_gone(gone: dict[tuple[str, str], GonePod], before: dict[tuple[str, str], KubePod],
              now_pods: dict[tuple[str, str], KubePod], now: float) -> None:
    """Record the pods of ``before`` that ``now_pods`` no longer has; forget the records of
    pods that are back (a re-init) or older than ``GONE_KEEP``; keep at most ``GONE_MAX``."""
    for key, pod in before.items():
        if key not in now_pods and key not in gone:  # a watch may have recorded its end
            gone[key] = GonePod.of(pod, now)
    for key in [k for k, g in gone.items() if k in now_pods or now - g.when > GONE_KEEP]:
        del gone[key]
    for key in sorted(gone, key=lambda k: gone[k].when)[:-GONE_MAX]:
        del gone[key]


def ending(pod: KubePod) -> str | None:
    """A key for this end of ``pod`` (a container terminated or crash-looping, the pod
    failed or being deleted), or None while it is not ending: AIStore deletes a transformer
    pod as soon as its container ends, so its log must be read now or never."""
    crashed = [c for c in pod.containers
               if c.state == "terminated" or c.reason == "CrashLoopBackOff"]
    if not crashed and pod.phase != "Failed" and pod.reason != "Terminating":
        return None
    return f"{pod.name}/{pod.restarts}/{pod.phase}/{len(crashed)}"


def last_words(gone: GonePod, now: float) -> str:
    """What a deleted pod last said: its state, each container's end, when it went."""
    pod = gone.pod
    parts = [f"{pod.name}: deleted {human_duration(now - gone.when)} ago; last {pod.phase}"]
    ended = [c for c in pod.containers if c.state == "terminated"]
    for c in ended:
        end = ", ".join(x for x in (c.reason, f"exit code {c.exit_code}") if x)
        parts.append(f"container {c.name} terminated ({end})"
                     + (f": {c.message}" if c.message else ""))
    if not ended and pod.message and pod.reason not in QUIET_REASONS:  # else said above
        parts.append(f"{pod.reason}: {pod.message}")
    return "; ".join(parts)


def by_target(pods: Iterable[KubePod]) -> dict[tuple[str, str], KubePod]:
    """Transformer pods (matched to targets) by (ETL, target ID)."""
    return {(p.etl, p.target_id): p for p in pods}


def table_columns(with_kube: bool, metrics: MetricsSource) -> list[str]:
    columns = list(KUBE_COLUMNS if with_kube else BASE_COLUMNS)
    columns += [f"CPU·{metrics}", f"MEM·{metrics}"] if metrics else []
    return [*columns, "POD"]


def usage(pod: MergedPod, metrics: MetricsSource, kube_metrics: dict[str, PodMetrics]
          ) -> tuple[float | None, int | None]:
    """(CPU cores, memory bytes) of the pod from ``metrics``' source, None where unknown."""
    if metrics == "k8s":
        m = kube_metrics.get(pod.pod_name)
        return (m.cpu_cores, m.memory_bytes) if m is not None else (None, None)
    return (pod.ais.cpu, pod.ais.mem) if pod.ais is not None else (None, None)


def pod_row(pod: MergedPod, node: str, with_kube: bool, metrics: MetricsSource, now: float,
            kube_metrics: dict[str, PodMetrics] | None = None,
            stopped: frozenset[str] = frozenset()) -> tuple:
    """``stopped``: the ETLs stopped from this app, whose ended transformers read Stopped
    (not Failed: the cluster reports a stop and a crash alike)."""
    ais, kube = pod.ais, pod.kube
    if kube is not None:
        reason = kube_reason(kube)
        style = ("red" if reason and kube.phase != "Pending" else
                 STATE_STYLE.get(kube.phase, ""))
        state = Text(kube.phase, style=style)
        restarts, age = kube.restarts, kube.age_seconds
        node = kube.node or "—"
        reason_cell = Text(reason, style="red" if kube.phase != "Pending" else "yellow")
    elif pod.gone is not None:  # deleted by its target: the last state Kubernetes gave
        last = pod.gone.pod
        state = Text("Deleted", style="red")
        restarts, age, node = last.restarts, None, last.node or "—"
        why = kube_reason(last) or last.phase
        reason_cell = Text(f"{why} · gone {human_duration(now - pod.gone.when)}", style="red")
    else:
        health = ais.health if ais is not None else "—"
        if health in ("Failed", "Succeeded") and pod.etl in stopped:
            health = "Stopped"
        state = Text(health, style=STATE_STYLE.get(health, ""))
        restarts = ais.restarts if ais is not None else None
        age = now - ais.started if ais is not None and ais.started else None
        reason_cell = Text("no pod in Kubernetes" if with_kube else "", style="dim")
    cells = {"ETL": pod.etl, "TARGET": pod.target_id, "POD": pod.pod_name, "NODE": node,
             "STATE": state, "REASON": reason_cell,
             "RESTARTS": str(restarts) if restarts is not None else "—",
             "AGE": human_duration(age) if age is not None else "—"}
    if metrics:
        cpu, mem = usage(pod, metrics, kube_metrics or {})
        cells[f"CPU·{metrics}"] = f"{cpu * 1000:.0f}m" if cpu is not None else "—"
        cells[f"MEM·{metrics}"] = human_bytes(mem) if mem is not None else "—"
    return tuple(cells[c] for c in table_columns(with_kube, metrics))


class PodsScreen(PollingScreen):
    TITLE_TEXT = "pods"
    INTERVAL = 3.0
    BINDINGS = [
        Binding("l", "logs", "Logs", id="pods.logs"),
        Binding("e", "events", "Events", id="pods.events"),
        Binding("d", "describe", "Describe", id="pods.describe"),
        Binding("c", "cluster", "Cluster", id="pods.cluster"),
        Binding("slash", "filter", "Filter", id="pods.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="pods.refresh"),
    ]

    def __init__(self, only: str | None = None) -> None:
        super().__init__()
        self.only = only
        self.metrics: MetricsSource | None = None  # of the table shown
        self.with_kube: bool | None = None
        self.pods: dict[str, MergedPod] = {}
        self.kube_note = ""
        self._kube_retry_at = 0.0
        self._ais_pods: list[EtlPod] = []  # the last poll's, merged again on a pod change
        self._target_ids: list[str] = []
        self._watched: dict[str, KubePod] | None = None  # by name, once the watch has listed
        self._watch_stop: threading.Event | None = None  # set: the watch ends
        self._watch_retry_at = 0.0
        self._watch_render_due = False
        self._gone: dict[tuple[str, str], GonePod] = {}
        # why each Aborted ETL failed, as AIStore said it (None: it did not say in its shape)
        self._failures: dict[str, EtlFailure | None] = {}
        # the last lines of pods seen ending, by pod name (kept for their gone rows)
        self._last_logs: dict[str, list[str]] = {}
        self._endings: set[str] = set()  # the ends whose log was asked for already
        # CPU and memory by pod name from metrics.k8s.io (None: not available, see why)
        self._kube_metrics: dict[str, PodMetrics] | None = None
        self._metrics_retry_at = 0.0
        self._last_kube: dict[tuple[str, str], KubePod] = {}  # the last rendered, for _gone
        self._locate_at = 0.0  # when to look for the ETL pods' namespace again

    def compose_body(self) -> ComposeResult:
        yield Static("", id="kube-note", markup=False)
        yield Vertical(id="pods-box")
        yield Static("", id="pod-detail")

    def title_text(self) -> str:
        title = f"pods {self.only}" if self.only else "pods"
        kube = self.session.kube
        return f"{title} · namespace {kube.namespace}" if kube is not None else title

    @property
    def table(self) -> KeyedTable | None:
        tables = self.query(KeyedTable)
        return tables.first() if tables else None

    def focus_main(self) -> None:
        if self.table is not None:
            self.table.focus()

    def apply_filter(self, text: str) -> None:
        if self.table is not None:
            self.table.set_filter(text)

    # --- fetching -----------------------------------------------------------------------------

    async def fetch(self, client: AisClient) -> PodsData:
        smap, names = await asyncio.gather(client.cluster_map(), self._etl_names(client))
        target_ids = [t.id for t in smap.targets]
        lists, kube_pods = await asyncio.gather(
            asyncio.gather(*(client.etl_pods(n) for n in names), return_exceptions=True),
            self._fetch_kube(target_ids))
        ais_pods = [p for pods in lists if isinstance(pods, list) for p in pods]
        self._ais_pods, self._target_ids = ais_pods, target_ids
        return PodsData(self._merge(kube_pods), kube_pods is not None)

    def _merge(self, kube_pods: dict[tuple[str, str], KubePod] | None) -> list[MergedPod]:
        """AIStore's and Kubernetes' views in rows, with the pods that went since the last."""
        if kube_pods is not None:
            note_gone(self._gone, self._last_kube, kube_pods, time.time())
            self._last_kube = kube_pods
            for pod in kube_pods.values():
                self._keep_last_lines(pod)
        return merge(self._ais_pods, kube_pods, self.only, self._gone)

    async def _etl_names(self, client: AisClient) -> list[str]:
        """The ETLs shown; the failure of each newly Aborted one is asked once."""
        etls = await client.list_etls()
        names = [self.only] if self.only else [e.name for e in etls]
        aborted = {e.name for e in etls if e.stage == "Aborted" and e.name in names}
        new = sorted(aborted - set(self._failures))
        found = await asyncio.gather(*(client.etl_details(n) for n in new),
                                     return_exceptions=True)
        for name, details in zip(new, found, strict=True):
            self._failures[name] = None if isinstance(details, BaseException) \
                else parse_etl_error(details.reason)
        self._failures = {n: f for n, f in self._failures.items() if n in aborted}
        return names

    async def _fetch_kube(self, target_ids: list[str]
                          ) -> dict[tuple[str, str], KubePod] | None:
        """Kubernetes' transformer pods by (ETL, target), or None (``kube_note`` says why)."""
        if self._watched is not None:  # the watch answers, even while a list would wait
            self.kube_note = self._answer_note()
            if (kube := self.session.kube) is not None:
                with contextlib.suppress(KubeError):  # the watch says if Kubernetes is gone
                    await self._fetch_kube_metrics(kube)
            return self._watched_by_target(target_ids)
        if time.monotonic() < self._kube_retry_at:
            return None
        kube = await self.session.kube_client()
        if kube is None:
            self.kube_note = self.session.kube_note
            return None
        try:
            await self._locate(kube)
            if self._watch_stop is None and time.monotonic() >= self._watch_retry_at:
                self._watch_stop = threading.Event()
                self._watch(kube, self._watch_stop)
            await self._fetch_kube_metrics(kube)
            pods = await asyncio.to_thread(kube.transformer_pods, target_ids)
        except KubeError as err:
            self._kube_retry_at = time.monotonic() + KUBE_RETRY
            self.kube_note = f"Kubernetes: {err} — showing AIStore's view only"
            return None
        self.kube_note = self._answer_note()
        return by_target(pods)

    async def _fetch_kube_metrics(self, kube: KubeClient) -> None:
        """CPU and memory of the ETL pods in their namespace from metrics.k8s.io (AIStore's
        own metrics call looks only in `default`); without a metrics server, or without the
        grant, AIStore's figures, and asked again ``KUBE_RETRY`` later."""
        if self._kube_metrics is None and time.monotonic() < self._metrics_retry_at:
            return
        usage = await asyncio.to_thread(kube.pod_metrics, ETL_SELECTOR)
        if isinstance(usage, MetricsUnavailable):  # the CPU·ais header says it
            self._kube_metrics = None
            self._metrics_retry_at = time.monotonic() + KUBE_RETRY
        else:
            self._kube_metrics = usage

    async def _locate(self, kube: KubeClient) -> None:
        """Find the namespace of the ETL pods: once per client, and while there are none,
        again every ``KUBE_RETRY`` (an ETL's pods may appear in another namespace later)."""
        if kube.etl_pods_found or (kube.etl_pods_found is False
                                   and time.monotonic() < self._locate_at):
            self.retitle()
            return
        before = kube.namespace
        await asyncio.to_thread(kube.find_etl_namespace)
        self._locate_at = time.monotonic() + KUBE_RETRY
        if kube.namespace != before:
            self._stop_watch()  # it watches the namespace looked in before
        self.retitle()

    def _answer_note(self) -> str:
        """The note while Kubernetes answers: none, or where no ETL pods were found."""
        kube = self.session.kube
        if kube is None or kube.etl_pods_found is not False:
            return ""
        return f"Kubernetes: {kube.namespace_how} (looking again every {KUBE_RETRY:g} s)"

    def _watched_by_target(self, target_ids: list[str]) -> dict[tuple[str, str], KubePod]:
        return by_target(match_transformer_pods((self._watched or {}).values(), target_ids))

    # --- the Kubernetes watch ---------------------------------------------------------------

    @work(thread=True, group="kube-watch", exit_on_error=False)
    def _watch(self, kube: KubeClient, stop: threading.Event) -> None:
        try:
            for change in kube.watch_etl_pods(stop=stop):
                if stop.is_set():
                    return
                self.app.call_from_thread(self._pod_changed, change, stop)
        except KubeError:
            if not stop.is_set():
                self.app.call_from_thread(self._watch_failed, stop)
        except RuntimeError:  # the app has closed
            stop.set()

    def _pod_changed(self, change: PodChange, stop: threading.Event) -> None:
        if stop is not self._watch_stop:
            return  # from a watch that has been replaced
        if change.type == "SYNC":
            self._watched = {p.name: p for p in change.pods}
            self.kube_note = self._answer_note()  # Kubernetes answers
        elif change.pod is not None and self._watched is not None:
            if change.type == "DELETED":
                self._watched.pop(change.pod.name, None)
                for pod in match_transformer_pods([change.pod], self._target_ids):
                    self._gone[(pod.etl, pod.target_id)] = GonePod.of(pod, time.time())
            else:
                self._watched[change.pod.name] = change.pod
                self._keep_last_lines(change.pod)
        if not self._watch_render_due:
            self._watch_render_due = True
            self.set_timer(WATCH_RENDER_DELAY, self._render_watched)

    def _keep_last_lines(self, pod: KubePod) -> None:
        """Read the log of a pod seen ending, once per end, before AIStore deletes it."""
        end = ending(pod)
        if end is None or end in self._endings or self.session.kube is None:
            return
        self._endings.add(end)
        self._read_last_lines(self.session.kube, pod)

    @work(thread=True, group="last-lines")
    def _read_last_lines(self, kube: KubeClient, pod: KubePod) -> None:
        try:
            lines = kube.logs(pod.name, container=main_container(pod), tail_lines=LAST_LINES)
        except KubeError:
            return  # already gone: its row says what it can
        self.app.call_from_thread(self._kept, pod.name, lines)

    def _kept(self, name: str, lines: list[str]) -> None:
        self._last_logs[name] = lines
        for old in list(self._last_logs)[:-GONE_MAX]:
            del self._last_logs[old]
        if len(self._endings) > 4 * GONE_MAX:
            self._endings.clear()  # bounded; an end seen again is read again, no harm

    def _render_watched(self) -> None:
        self._watch_render_due = False
        if self.is_current and self._watched is not None and self.with_kube is not None:
            kube_pods = self._watched_by_target(self._target_ids)
            self.render_data(PodsData(self._merge(kube_pods), True))

    def _watch_failed(self, stop: threading.Event) -> None:
        """Polls list the pods again (and say so if that fails too); watch again later."""
        if stop is self._watch_stop:
            self._watched, self._watch_stop = None, None
            self._watch_retry_at = time.monotonic() + KUBE_RETRY

    def on_screen_suspend(self) -> None:  # Textual also calls PollingScreen's: no super()
        self._stop_watch()  # like the polls: only while the screen is shown

    def on_unmount(self) -> None:
        self._stop_watch()

    def _stop_watch(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
        self._watched, self._watch_stop = None, None

    # --- rendering ----------------------------------------------------------------------------

    async def _ensure_table(self, with_kube: bool, metrics: MetricsSource) -> KeyedTable:
        if self.table is None or metrics != self.metrics or with_kube != self.with_kube:
            box = self.query_one("#pods-box", Vertical)
            await box.remove_children()
            columns = table_columns(with_kube, metrics)
            await box.mount(KeyedTable(columns, right=[c for c in columns if c.startswith(
                ("RESTARTS", "AGE", "CPU", "MEM"))], id="pods"))
            self.focus_main()
            if bool(metrics) != bool(self.metrics) and (self.metrics is not None
                                                        or not metrics):
                self.notify("CPU and memory columns hidden: neither Kubernetes nor AIStore "
                            "reports metrics for these transformers" if not metrics
                            else "CPU and memory metrics are back")
            self.metrics, self.with_kube = metrics, with_kube
        assert self.table is not None
        return self.table

    def render_data(self, data: PodsData) -> None:
        note = self.query_one("#kube-note", Static)
        note.update(self.kube_note)
        note.display = bool(self.kube_note)
        # a callable, not a coroutine: a render replaced before it starts is never created
        self.run_worker(partial(self._show_pods, data), group="render", exclusive=True)

    async def _show_pods(self, data: PodsData) -> None:
        pods = data.pods
        metrics: MetricsSource = "ais" if any(
            p.ais is not None and (p.ais.cpu is not None or p.ais.mem is not None)
            for p in pods) or not pods else ""
        if self._kube_metrics is not None:
            metrics = "k8s"
        table = await self._ensure_table(data.with_kube, metrics)
        node = "localhost" if self.session.embedded else "—"
        now = time.time()
        self.pods = {p.key: p for p in pods}
        stopped = frozenset(self.session.stopped_etls)
        table.sync({p.key: pod_row(p, node, data.with_kube, metrics, now, self._kube_metrics,
                                   stopped)
                    for p in pods})
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        """The selected pod's Kubernetes message (why it is not running), or a deleted pod's
        last words, or why its ETL failed on its target (AIStore's error as fields), on one
        line."""
        pod = self._selected()
        kube = pod.kube if pod is not None else None
        text = f"{kube.name}: {kube.message}" if kube is not None and kube.message else ""
        if pod is not None and pod.gone is not None:
            text = last_words(pod.gone, time.time())
        failure = self._failures.get(pod.etl) if pod is not None else None
        if not text and pod is not None and failure is not None \
                and failure.target == pod.target_id:
            text = " · ".join(failure.lines()[:4])
        detail = self.query_one("#pod-detail", Static)
        detail.update(Text(text, no_wrap=True, overflow="ellipsis"))
        detail.display = bool(text)

    def on_data_table_row_highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    # --- actions ------------------------------------------------------------------------------

    def _selected(self) -> MergedPod | None:
        table = self.table
        key = table.selected_key if table is not None else None
        return self.pods.get(key) if key else None

    def _selected_kube(self, gone_too: bool = False) -> tuple[KubeClient, KubePod] | None:
        """The selected row's pod in Kubernetes (``gone_too``: or its last state, for what
        outlives a pod, its events)."""
        pod, kube = self._selected(), self.session.kube
        if pod is None or kube is None or not self.with_kube:
            return None
        if pod.kube is not None:
            return kube, pod.kube
        return (kube, pod.gone.pod) if gone_too and pod.gone is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "events":
            return self._selected_kube(gone_too=True) is not None
        if action == "describe":
            return self._selected_kube() is not None
        if action == "cluster":
            return bool(self.with_kube)
        return super().check_action(action, parameters)

    def action_logs(self) -> None:
        pod = self._selected()
        if pod is not None and pod.gone is not None and pod.kube is None:
            name = pod.gone.pod.name
            self.app.push_screen(SavedLogScreen(
                name, self._last_logs.get(name, []),
                f"the last lines read from {name} when it was seen ending; Kubernetes "
                f"deleted it {human_duration(time.time() - pod.gone.when)} ago"))
            return
        if (both := self._selected_kube()) is not None:
            kube, pod = both
            self.app.push_screen(KubeLogsScreen.for_pod(kube, pod))
        elif (pod := self._selected()) is not None:
            self.app.push_screen(LogsScreen(pod.etl))

    def action_events(self) -> None:
        if (both := self._selected_kube(gone_too=True)) is not None:
            self.app.push_screen(KubeEventsScreen(both[1].name))

    def action_describe(self) -> None:
        if (both := self._selected_kube()) is not None:
            self.app.push_screen(KubeDescribeScreen(both[1].name))

    def action_cluster(self) -> None:
        self.app.push_screen(KubeClusterScreen())
