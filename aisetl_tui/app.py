"""The app: connects (to the embedded cluster by default), keeps the status line current,
and routes commands to screens. Screens hold state, widgets render, workers do the I/O."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shlex
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from backend.ais import AisClient, AisError, load_token, pipeline_text
from backend.kube import KubeClient, KubeConfigError, KubeError  # cheap: kubernetes loads lazily
from backend.local import ClusterError, start_in_background

from .screens.buckets import BucketsScreen
from .screens.command_bar import CommandBar
from .screens.etls import EtlsScreen
from .screens.help import MUTATING_COMMANDS, HelpScreen
from .screens.jobs import JobsScreen
from .screens.overview import OverviewScreen
from .screens.pods import PodsScreen
from .widgets.status import ClusterStatus

HEALTH_EVERY = 2.0
MAX_BACKOFF = 8.0
BLOCKING_THREADS = 64  # threads for blocking calls, created as needed
NO_KUBECONFIG = "Kubernetes: no kubeconfig — showing AIStore's view only"


@dataclass(frozen=True)
class JobRecord:
    """What the app knows about a transform it started (the cluster does not keep it)."""

    xid: str
    etl: str
    src: str
    dst: str
    prefix: str
    started: float
    pipeline: tuple[str, ...] = ()  # the ETLs after ``etl``

    @property
    def chain(self) -> str:
        return pipeline_text(self.etl, self.pipeline)


class AisEtlApp(App):
    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute: subclasses live elsewhere
    TITLE = "aisetl-tui"
    MODES = {"overview": OverviewScreen, "buckets": BucketsScreen, "etls": EtlsScreen,
             "pods": PodsScreen, "jobs": JobsScreen}
    BINDINGS = [
        Binding("colon", "command_bar", "Command", id="app.command"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("0", "tab('overview')", "Overview", show=False, id="app.overview"),
        Binding("1", "tab('buckets')", "Buckets", show=False, id="app.buckets"),
        Binding("2", "tab('etls')", "ETLs", show=False, id="app.etls"),
        Binding("3", "tab('pods')", "Pods", show=False, id="app.pods"),
        Binding("4", "tab('jobs')", "Jobs", show=False, id="app.jobs"),
        Binding("minus", "last_tab", "Last tab", show=False, id="app.last_tab"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    status: reactive[ClusterStatus] = reactive(ClusterStatus, always_update=True)

    def __init__(self, endpoint: str | None = None, data_dir: Path | None = None,
                 readonly: bool = False, keymap: dict[str, str] | None = None,
                 targets: int = 2, kube: KubeClient | Literal["auto"] | None = "auto",
                 kube_context: str | None = None, kube_namespace: str | None = None,
                 start: str = "overview") -> None:
        super().__init__()
        if start not in self.MODES:
            raise ValueError(f"no screen {start!r}: one of {', '.join(self.MODES)}")
        self.first_screen = start
        # Kubernetes: "auto" finds a kubeconfig on first use (in a thread: importing the
        # client costs about half a second); None never asks; a KubeClient is used as given.
        self.kube_arg = kube
        self.kube_context = kube_context
        self.kube_namespace = kube_namespace
        self.kube: KubeClient | None = kube if isinstance(kube, KubeClient) else None
        self.kube_note = ""  # why there is no Kubernetes view ("" when there is one)
        self._kube_resolved = kube != "auto"
        self._kube_lock: asyncio.Lock | None = None
        self.endpoint_arg = endpoint
        self.data_dir = data_dir
        self.targets = targets
        self.readonly = readonly
        self.keymap = keymap or {}
        self.client: AisClient | None = None
        self.supports_init_code = False
        self.jobs: dict[str, JobRecord] = {}
        self.last_tab = ""  # the tab shown before the current one, for ``-``
        self.stopped_etls: set[str] = set()  # stopped here: shown as Stopped, not Aborted

    def on_mount(self) -> None:
        # Each followed Kubernetes log holds a thread of this pool for as long as its screen
        # is open; Python's default pool has cores + 4 threads, so a few open log screens would
        # starve every other blocking call (Kubernetes polls, starting the cluster).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=BLOCKING_THREADS, thread_name_prefix="aisetl"))
        if self.keymap:
            self.set_keymap(self.keymap)
        self.switch_mode(self.first_screen)
        self.connect()
        # What exists once the first screen is up (modules, styles, widgets) lives as long as
        # the app: keep it out of the collector's full passes, each of which would otherwise
        # stall the event loop (and the keys) for tens of milliseconds.
        self.call_after_refresh(gc.freeze)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self.kube is not None and self.kube_arg == "auto":  # ours to close
            await asyncio.to_thread(self.kube.close)

    # --- Kubernetes -------------------------------------------------------------------------

    @property
    def kube_possible(self) -> bool:
        """False for the embedded cluster (no Kubernetes behind it) unless a client is given."""
        if isinstance(self.kube_arg, KubeClient):
            return True
        embedded = self.endpoint_arg is None or self.status.embedded
        return self.kube_arg == "auto" and not embedded

    async def kube_client(self) -> KubeClient | None:
        """The Kubernetes client, created once on first use, in a thread; None when there is
        none (``kube_note`` then says why, or is empty for the embedded cluster)."""
        if self._kube_resolved or not self.kube_possible:
            return self.kube
        if self._kube_lock is None:
            self._kube_lock = asyncio.Lock()
        async with self._kube_lock:
            if not self._kube_resolved:
                try:
                    self.kube = await asyncio.to_thread(
                        KubeClient, context=self.kube_context, namespace=self.kube_namespace)
                    self.kube_note = ""
                    # where the ETL pods are, for every Kubernetes screen; if Kubernetes does
                    # not answer now, the Pods screen asks again and says why
                    with contextlib.suppress(KubeError):
                        await asyncio.to_thread(self.kube.find_etl_namespace)
                except KubeConfigError as err:
                    self.kube_note = (NO_KUBECONFIG if str(err).startswith("no kubeconfig")
                                      else f"Kubernetes: {err} — showing AIStore's view only")
                except KubeError as err:
                    self.kube_note = f"Kubernetes: {err} — showing AIStore's view only"
                self._kube_resolved = True
        return self.kube

    # --- connection -------------------------------------------------------------------------

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        """Find or start the cluster, then watch it: say so within seconds when it is gone,
        retry with backoff, and refresh the screen when it is back."""
        endpoint, embedded = self.endpoint_arg, self.endpoint_arg is None
        if endpoint is None:
            self.status = ClusterStatus(state="starting", embedded=True,
                                        detail="starting the embedded cluster…")
            try:
                info = await asyncio.to_thread(start_in_background, self.data_dir, self.targets)
            except ClusterError as err:
                self.status = ClusterStatus(state="unreachable", embedded=True, detail=str(err))
                return
            endpoint = info.endpoint
        self.client = AisClient(endpoint, token=load_token(), readonly=self.readonly)
        self.supports_init_code = embedded
        self.status = ClusterStatus(endpoint=endpoint, embedded=embedded, state="connecting")
        backoff, was_connected = 1.0, False
        while True:
            try:
                smap = await self.client.cluster_map()
            except AisError as err:
                self.status = ClusterStatus(endpoint=endpoint, embedded=embedded,
                                            state="unreachable",
                                            detail=f"{err} (retrying in {backoff:.0f}s)")
                was_connected = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            self.status = ClusterStatus(endpoint=endpoint, embedded=embedded,
                                        proxies=len(smap.proxies), targets=len(smap.targets),
                                        state="connected")
            if not was_connected:
                was_connected = True
                refresh = getattr(self.screen, "refresh_now", None)
                if refresh is not None:
                    refresh()
            await asyncio.sleep(HEALTH_EVERY)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification is plain text: they quote names, paths, typed commands and server
        errors, and a "[" in one of those must not be read as markup (or fail as it)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # --- tabs -------------------------------------------------------------------------------

    def action_tab(self, mode: str) -> None:
        """Show a tab's list: the screens opened from it before (an object, a monitor) are
        closed, so a tab key always lands on the same screen and Esc never walks back
        through old ones."""
        if mode != self.current_mode:
            self.last_tab = self.current_mode
            self.switch_mode(mode)
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("tab", "last_tab") and isinstance(self.screen, ModalScreen):
            return False  # a dialog or form stays until it is answered: nothing typed is lost
        return super().check_action(action, parameters)

    def action_last_tab(self) -> None:
        """``-``: back to the tab shown before this one (k9s's "last view")."""
        if self.last_tab:
            self.action_tab(self.last_tab)

    # --- commands ---------------------------------------------------------------------------

    def action_command_bar(self) -> None:
        self.push_screen(CommandBar(), lambda text: self.run_command(text or ""))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen))

    def run_command(self, text: str) -> None:
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        if not words:
            return
        verb, args = words[0].lower(), words[1:]
        arg = args[0] if args else None
        modes = {"overview": "overview", "pulses": "overview", "buckets": "buckets",
                 "b": "buckets", "etls": "etls", "etl": "etls",
                 "e": "etls", "pods": "pods", "p": "pods", "jobs": "jobs", "j": "jobs"}
        if verb in ("q", "quit", "exit"):
            self.exit()
        elif verb in ("help", "h", "?"):
            self.action_help()
        elif verb in ("cluster", "k8s", "kube"):
            from .screens.kube_cluster import KubeClusterScreen

            self.push_screen(KubeClusterScreen())
        elif verb in ("pods", "p") and arg:
            self.push_screen(PodsScreen(only=arg))
        elif verb in modes:
            self.action_tab(modes[verb])
        elif verb in ("objects", "o", "ls"):
            if arg:
                self.run_worker(self._open_objects(arg.removeprefix("ais://").strip("/")))
            else:
                self.notify(f":{verb} needs a bucket: :objects <bucket>", severity="warning")
        elif verb in MUTATING_COMMANDS and self.readonly:
            self.notify(f":{verb} changes the cluster, and the app was started with --readonly",
                        severity="warning")
        elif verb == "init" and args[:1] in (["code"], ["spec"]):
            from .screens.etl_init import InitCodeScreen, InitSpecScreen

            form = InitCodeScreen if args[0] == "code" else InitSpecScreen
            self.push_screen(form(args[1] if len(args) > 1 else ""))
        elif verb == "transform":
            from .screens.offline import OfflineFormScreen

            self.push_screen(OfflineFormScreen(src=arg))
        else:
            self.notify(f"unknown command {text!r}: press ? for the list", severity="warning")

    async def _open_objects(self, bucket: str) -> None:
        """The Objects screen of ``bucket``, if the cluster has it."""
        from .screens.objects import ObjectsScreen

        if self.client is not None:
            try:
                known = [b.name for b in await self.client.list_buckets()]
            except AisError as err:
                self.notify(f"cannot list the buckets: {err}", severity="error")
                return
            if bucket not in known:
                self.notify(f"no bucket ais://{bucket} (:buckets lists them)",
                            severity="warning")
                return
        self.push_screen(ObjectsScreen(bucket))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, command in [("Overview", "overview"), ("Buckets", "buckets"),
                               ("ETLs", "etls"), ("Pods", "pods"),
                               ("Jobs", "jobs"), ("Kubernetes cluster", "cluster"),
                               ("Init ETL from code", "init code"),
                               ("Init ETL from spec", "init spec"),
                               ("Transform a bucket", "transform")]:
            if self.readonly and command.split()[0] in MUTATING_COMMANDS:
                continue
            yield SystemCommand(title, f":{command}",
                                lambda command=command: self.run_command(command))

    # --- jobs -------------------------------------------------------------------------------

    def remember_job(self, xid: str, etl: str, src: str, dst: str, prefix: str = "",
                     pipeline: Sequence[str] = ()) -> None:
        self.jobs[xid] = JobRecord(xid, etl, src, dst, prefix, time.time(), tuple(pipeline))
