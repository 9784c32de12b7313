"""The app: connects (to the embedded cluster by default), keeps the status line current,
and routes commands to screens. Screens hold state, widgets render, workers do the I/O."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from backend.ais import AisClient, AisError
from backend.kube import KubeClient
from backend.local import ClusterError, start_in_background

from .contexts import Context, deployed_embedded, launch_context, load_contexts, token_for
from .screens.buckets import BucketsScreen
from .screens.command_bar import CommandBar
from .screens.commands import CommandError, parse, visible
from .screens.contexts import ContextsScreen
from .screens.etls import EtlsScreen
from .screens.help import HelpScreen
from .screens.jobs import JobsScreen
from .screens.objects import ObjectsScreen
from .screens.overview import OverviewScreen
from .screens.pods import PodsScreen
from .session import Connected, Session
from .widgets.status import ClusterStatus

HEALTH_EVERY = 2.0
MAX_BACKOFF = 8.0
SWITCHING = "switching"  # the mode shown while the tabs are made anew for another context
BLOCKING_THREADS = 64  # threads for blocking calls, created as needed



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
                 start: str = "overview", contexts: list[Context] | None = None) -> None:
        """``contexts``: the clusters ``:ctx`` offers (by default the embedded one and
        those of ``contexts.toml``); the app starts on ``endpoint``'s, or the embedded one."""
        super().__init__()
        if start not in self.MODES:
            raise ValueError(f"no screen {start!r}: one of {', '.join(self.MODES)}")
        self.first_screen = start
        self.contexts = contexts if contexts is not None else load_contexts()
        self.context = launch_context(self.contexts, endpoint, kube_context, kube_namespace)
        self.kube_arg = kube
        self.readonly = readonly
        self.session = self._new_session()
        self.data_dir = data_dir
        self.targets = targets
        self.keymap = keymap or {}
        self.last_tab = ""  # the tab shown before the current one, for ``-``

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
        await self.session.aclose()

    # --- connection -------------------------------------------------------------------------

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        """Find or start the cluster of the current context, then watch it: say so within
        seconds when it is gone, retry with backoff, and refresh the screen when it is
        back."""
        context = self.context
        endpoint, embedded = context.endpoint, context.embedded
        status = functools.partial(ClusterStatus, context=context.name)
        if endpoint is None:
            self.status = status(state="starting", embedded=True,
                                 detail="starting the embedded cluster…")
            try:
                info = await asyncio.to_thread(start_in_background, self.data_dir, self.targets)
            except ClusterError as err:
                self.status = status(state="unreachable", embedded=True, detail=str(err))
                return
            endpoint = info.endpoint
        session = self.session
        token = context.token_value() or token_for(endpoint, embedded)
        session.client = client = AisClient(endpoint, token=token, readonly=self.readonly)
        session.supports_init_code = session.embedded = embedded
        self.status = status(endpoint=endpoint, embedded=embedded, state="connecting")
        backoff, was_connected = 1.0, False
        while True:
            try:
                smap = await client.cluster_map()
            except AisError as err:
                self.status = status(endpoint=endpoint, embedded=embedded,
                                     state="unreachable",
                                     detail=f"{err} (retrying in {backoff:.0f}s)")
                was_connected = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            if not was_connected and not embedded:  # an endpoint given: is it ours?
                embedded = await self.is_embedded(client)
                session.supports_init_code = session.embedded = embedded
            self.status = status(endpoint=endpoint, embedded=embedded,
                                 proxies=len(smap.proxies), targets=len(smap.targets),
                                 state="connected")
            if not was_connected:
                was_connected = True
                self.screen.post_message(Connected())
            await asyncio.sleep(HEALTH_EVERY)

    def _new_session(self) -> Session:
        """A session for the current context (its Kubernetes, if it names one)."""
        session = Session(readonly=self.readonly, kube=self.kube_arg,
                          kube_context=self.context.kube_context,
                          kube_namespace=self.context.kube_namespace)
        session.embedded = self.context.embedded
        return session

    # --- contexts ---------------------------------------------------------------------------

    def open_contexts(self, name: str = "") -> None:
        """``:ctx``: the contexts to switch between; ``:ctx NAME`` switches at once."""
        if not name:
            self.push_screen(ContextsScreen(self.contexts, self.context, self.switch_context))
            return
        context = next((c for c in self.contexts if c.name == name), None)
        if context is None:
            known = ", ".join(c.name for c in self.contexts)
            self.notify(f"no context named {name!r} (known: {known}; :ctx lists them)",
                        severity="warning")
            return
        self.switch_context(context)

    def switch_context(self, context: Context) -> None:
        """Work on another cluster: a new session and connection, every tab's screens new
        (what they showed was the other cluster's), the current tab's list shown."""
        if context.name == self.context.name:
            self.notify(f"already on {context.describe()}")
            return
        old = self.session
        self.context = context
        self.session = self._new_session()
        self.run_worker(old.aclose(), group="close")
        shown = self.current_mode
        self.add_mode(SWITCHING, Screen)  # (a blank moment: the current tab can go too)
        self.switch_mode(SWITCHING)
        for mode, screen in self.MODES.items():
            self.remove_mode(mode)
            self.add_mode(mode, screen)
        self.switch_mode(shown)
        self.remove_mode(SWITCHING)
        self.connect()
        self.notify(f"now on {context.describe()}")

    async def is_embedded(self, client: AisClient) -> bool:
        """Whether the cluster at an endpoint given is an embedded one."""
        return await deployed_embedded(client)

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
        """Run what was typed in the command bar (without the ``:``)."""
        try:
            parsed = parse(text, self.readonly)
        except CommandError as err:
            self.notify(str(err), severity="warning")
            return
        if parsed is not None:
            command, args = parsed
            command.run(self, args)

    def open_objects(self, bucket: str) -> None:
        self.run_worker(self._open_objects(bucket))

    async def _open_objects(self, bucket: str) -> None:
        """The Objects screen of ``bucket``, if the cluster has it."""
        if (client := self.session.client) is not None:
            try:
                known = [b.name for b in await client.list_buckets()]
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
        for command in visible(self.readonly):
            if command.title:
                yield SystemCommand(command.title, command.usage,
                                    lambda name=command.name: self.run_command(name))
