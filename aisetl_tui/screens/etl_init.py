"""Init an ETL from a Python file (code) or from a YAML spec, validated before it is sent.

AIStore 5.0 has no ``init code``: against a cluster without it, the code becomes a runtime spec
whose ``ETL_CLASS_PAYLOAD`` wraps the function (or io:// script) in an ``ETLServer`` class, as
the SDK's ``init_class`` does.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from backend.ais import (
    AisError,
    AlreadyExists,
    etl_name_problem,
    parse_etl_error,
    runtime_spec_for_pod,
    spec_init_msg,
)
from backend.kube import KubeClient, KubeError

from ..etl_code import CodeOptions, code_msg
from ..init_steps import InitStep, ais_step, kube_step
from ..markup import escape
from ..session import UsesSession
from ..widgets.form_status import FormStatus
from ._base import EndsWorkersFirst
from .dialogs import ConfirmScreen

RUNTIMES = [f"python3.{m}v2" for m in range(9, 14)]
WATCH_EVERY = 1.0  # seconds between looks at an initializing ETL's transformers
STEP_MARK = {"ready": ("●", "green"), "failing": ("✗", "red"), "": ("◌", "yellow")}
MAX_PREVIEW = 200_000
NAME_RULE = "required: 6 to 32 of a-z, 0-9 and -"
GENERIC_STEMS = {"code", "spec", "main", "transform", "transformer", "etl", "pod", "server",
                 "app", "handler"}


def default_etl_name(path_text: str) -> str:
    """A valid ETL name from a file's name (``md5/code.py`` → ``md5-etl``), or ``""``."""
    path = Path(path_text.strip())
    stem = path.stem.lower()
    if stem in GENERIC_STEMS and path.parent.name:
        stem = path.parent.name.lower()
    name = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
    if name and len(name) < 6:
        name += "-etl"
    name = name[:32].strip("-")
    return name if name and etl_name_problem(name) is None else ""


def kube_steps(kube: KubeClient, etl: str, targets: list[str]) -> list[InitStep]:
    """Each target's step from its pod and the pod's events (blocking: run in a thread)."""
    pods = kube.etl_pods(etl, targets)
    return [kube_step(t, pod, kube.pod_events(pod.name) if pod is not None else [])
            for t, pod in pods.items()]


def steps_text(etl: str, steps: list[InitStep]) -> Text:
    """``Initializing md5-etl`` and a line per target, its latest events under it."""
    text = Text(f"Initializing {etl}\n", style="bold")
    for step in steps:
        mark, style = STEP_MARK["ready" if step.ready else "failing" if step.failing else ""]
        text.append(f"{mark} ", style=style)
        text.append(f"t[{step.target}] ", style="bold")
        text.append(step.stage, style=style)
        if step.detail:
            text.append(f" — {step.detail}")
        text.append("\n")
        for event in step.events:
            text.append(f"    {event}\n", style="dim")
    return text


def read_text(path_text: str) -> tuple[str | None, str | None]:
    """(file text, None) or (None, why it cannot be read)."""
    if not path_text.strip():
        return None, "choose a file"
    path = Path(path_text).expanduser()
    try:
        if path.stat().st_size > 10 * 1024 * 1024:
            return None, f"{path} is larger than 10 MiB"
        return path.read_text(), None
    except (OSError, UnicodeDecodeError) as err:
        return None, f"cannot read {path}: {err}"


class _InitForm(EndsWorkersFirst, UsesSession, ModalScreen[bool]):
    """Shared frame: fields on the left, preview on the right, errors under the buttons."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="init.cancel"),
                Binding("ctrl+s", "submit", "Init", id="init.submit")]
    LANGUAGE = "python"
    TITLE_MARKUP = ""

    def __init__(self, path: str = "") -> None:
        super().__init__()
        self.initial_path = path
        self._default_name = ""  # the name given from the file, until the user types one
        self._error_on = ""  # the field an error is about: fixing it clears the error
        self._text = ""  # the file's, as last read for the preview

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-dialog"):
            with VerticalScroll(classes="fields"):
                yield Static(self.TITLE_MARKUP)
                yield FormStatus(id="form-error")  # at the top: in view with the first fields
                yield from self.compose_fields()
                with Horizontal(classes="buttons"):
                    yield Button("Cancel", id="cancel")
                    yield Button("Init", id="submit", variant="primary")
            with VerticalScroll(classes="preview"):
                yield Static("", id="init-steps", classes="hidden-until-used")
                yield Static("", id="form-note", classes="hidden-until-used")
                yield Static("", id="preview")

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self._preview()

    @on(Input.Changed, "#path")
    def _preview(self) -> None:
        path = self.query_one("#path", Input).value
        name = self.query_one("#name", Input)
        if name.value == self._default_name:  # not the user's own: follow the file
            self._default_name = default_etl_name(path)
            name.value = self._default_name
        text, problem = read_text(path)
        self._text = text or ""
        if self._error_on == "path" and text is not None:
            self.fail("")
        self._show_note(self.note(self._text))
        preview = self.query_one("#preview", Static)
        if text is None:
            preview.update(problem or "")
        else:
            preview.update(Syntax(text[:MAX_PREVIEW], self.LANGUAGE, line_numbers=True,
                                  word_wrap=True))

    def value(self, widget_id: str) -> str:
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Select):
            return str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip()

    def fail(self, message: str, field: str = "") -> None:
        """Show ``message`` (``""`` clears it); about ``field``, it goes once that is fixed."""
        self._error_on = field if message else ""
        self.query_one("#form-error", FormStatus).error(message)

    @on(Input.Changed, "#name")
    def _name_changed(self, event: Input.Changed) -> None:
        if self._error_on == "name" and etl_name_problem(event.value.strip()) is None:
            self.fail("")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        name = self.value("name")
        if problem := etl_name_problem(name):
            self.fail(f"name: {problem}" if name else f"name: {NAME_RULE}", "name")
            self.query_one("#name", Input).focus()
            return
        text, problem = read_text(self.value("path"))
        if text is None:
            self.fail(problem or "choose a file", "path")
            return
        try:
            msg = self.build(name, text)
        except ValueError as err:
            self.fail(str(err))
            return
        self.query_one("#form-error", FormStatus).show(f"initializing {escape(name)}…")
        self.query_one("#submit", Button).disabled = True
        self._send(name, msg)

    def build(self, name: str, text: str) -> dict:
        raise NotImplementedError

    def note(self, text: str) -> Text | str:
        """What to know about the file before sending it (shown over its preview)."""
        return ""

    def _show_note(self, note: Text | str) -> None:
        widget = self.query_one("#form-note", Static)
        widget.update(note)
        widget.display = bool(note)

    @work(exclusive=True)
    async def _send(self, name: str, msg: dict, replacing: str = "") -> None:
        client = self.session.client
        try:
            if replacing:
                await client.delete_etl(name)  # stops it first if it runs
            watch = self._watch_init(name)
            try:
                await client.init_etl(msg)
            finally:
                watch.cancel()
        except AlreadyExists:
            self._offer_replace(name, msg)
            return
        except AisError as err:
            failure = parse_etl_error(err.message)
            self.fail("\n".join(failure.lines()) if failure else str(err))
            self.query_one("#submit", Button).disabled = False
            return
        self.notify(f"ETL {name} is running" + (f" (it replaced the {replacing} one)"
                                                if replacing else ""))
        self.dismiss(True)

    @work(group="init-watch", exclusive=True)
    async def _watch_init(self, name: str) -> None:
        """While the cluster initializes the ETL (its PUT blocks until every target's
        transformer is ready or one fails): where each target's transformer is, from its
        Kubernetes pod and events when there is Kubernetes, else from the cluster's own
        health answer (the embedded cluster says its stages there)."""
        client = self.session.client
        assert client is not None
        try:
            kube = await self.session.kube_client()
            targets = [t.id for t in (await client.cluster_map()).targets]
        except AisError:
            return  # the init's own answer will say what is wrong
        steps_widget = self.query_one("#init-steps", Static)
        while True:
            if kube is not None:
                try:
                    steps = await asyncio.to_thread(kube_steps, kube, name, targets)
                except KubeError as err:
                    steps = [InitStep(t, "unknown", f"Kubernetes: {err}") for t in targets]
            else:
                try:
                    pods = {p.target_id: p for p in await client.etl_pods(name)}
                except AisError:
                    pods = {}
                steps = [ais_step(t, pods.get(t)) for t in targets]
            steps_widget.update(steps_text(name, steps))
            steps_widget.display = True
            await asyncio.sleep(WATCH_EVERY)

    @work(group="replace")
    async def _offer_replace(self, name: str, msg: dict) -> None:
        """The name is taken (often by the failed init a moment ago, which AIStore keeps as
        Aborted): say by what, and offer to replace it."""
        client = self.session.client
        try:
            stage = next((e.stage for e in await client.list_etls() if e.name == name), "")
        except AisError:
            stage = ""
        running = " It is running: replacing stops it." if stage == "Running" else ""
        self.fail(f"an ETL named {name} already exists ({stage or 'stage unknown'})", "name")
        if await self.app.push_screen_wait(ConfirmScreen(
                f"An ETL named [b]{escape(name)}[/b] already exists ({escape(stage or '?')})."
                f"{running} Replace it with this one?", "Replace")):
            self.query_one("#form-error", FormStatus).show(f"replacing {escape(name)}…")
            self._send(name, msg, replacing=stage.lower() or "old")
        else:
            self.query_one("#submit", Button).disabled = False


def _field(label: str, widget) -> ComposeResult:
    yield Label(label)
    yield widget


class InitCodeScreen(_InitForm):
    TITLE_MARKUP = "[b]Init ETL from code[/b]  [dim]ctrl+s init · esc cancel[/dim]"

    def compose_fields(self) -> ComposeResult:
        yield from _field("Name", Input(placeholder=NAME_RULE, id="name"))
        yield from _field("Code file", Input(self.initial_path, placeholder="./code.py",
                                             id="path"))
        yield from _field("Runtime", Select([(r, r) for r in RUNTIMES], value="python3.11v2",
                                            allow_blank=False, id="runtime"))
        yield from _field("Communication", Select(
            [("hpush://", "hpush"), ("hpull://", "hpull"), ("io:// (stdin → stdout)", "io"),
             ("ws://", "ws")], value="hpush", allow_blank=False, id="comm"))
        yield from _field("Transform function", Input("transform", id="func"))
        yield from _field("Dependencies (comma separated)", Input(id="deps"))
        yield from _field("Init timeout", Input("5m", id="init_timeout"))
        yield from _field("Object timeout", Input("45s", id="obj_timeout"))

    @on(Select.Changed)
    def _choice_changed(self) -> None:
        self._show_note(self.note(self._text))

    def note(self, text: str) -> Text | str:
        """How the code will go to a cluster that has no ``init code`` (AIStore 5.0)."""
        if self.session.supports_init_code or not self.is_mounted:
            return ""
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        note = Text(f"This cluster has no `init code` (AIStore 5.0 removed it): the function "
                    f"goes as a runtime spec of aistorage/runtime_python:{here}, serialized in "
                    "ETL_CLASS_PAYLOAD, as the SDK's init_class does.", style="yellow")
        runtime, comm = self.value("runtime"), self.value("comm")
        if runtime != f"python{here}v2":
            note.append(f" It runs on Python {here}, this machine's (where it is serialized), "
                        f"not {runtime}.", style="yellow")
        if comm == "io":
            note.append(" io:// becomes hpush://, your script run per object (stdin → "
                        "stdout).", style="yellow")
        return note

    def build(self, name: str, text: str) -> dict:
        comm = self.value("comm")
        deps = tuple(d.strip() for d in self.value("deps").split(",") if d.strip())
        options = CodeOptions(comm=comm, func=self.value("func") or "transform",
                              dependencies=deps, runtime=self.value("runtime"),
                              init_timeout=self.value("init_timeout") or "5m",
                              obj_timeout=self.value("obj_timeout") or "45s")
        return code_msg(name, text, "script" if comm == "io" else "function", options,
                        self.session.supports_init_code)


class InitSpecScreen(_InitForm):
    LANGUAGE = "yaml"
    TITLE_MARKUP = ("[b]Init ETL from a spec[/b] (a Pod or a runtime spec, YAML)  "
                    "[dim]ctrl+s init · esc cancel[/dim]")

    def compose_fields(self) -> ComposeResult:
        yield from _field("Name", Input(placeholder=NAME_RULE, id="name"))
        yield from _field("Spec file", Input(self.initial_path, placeholder="./spec.yaml",
                                             id="path"))
        yield from _field("Communication", Select(
            [("hpush://", "hpush"), ("hpull://", "hpull"), ("ws://", "ws")], value="hpush",
            allow_blank=False, id="comm"))
        yield from _field("Init timeout", Input("5m", id="init_timeout"))
        yield from _field("Object timeout", Input("45s", id="obj_timeout"))

    def note(self, text: str) -> Text | str:
        """A Pod spec still works on AIStore 5.0 but is deprecated (gone in 5.1): say so, and
        give the same ETL as a runtime spec."""
        runtime = runtime_spec_for_pod(text)
        if runtime is None:
            return ""
        note = Text("A Pod spec is deprecated in AIStore 5.0 and removed in 5.1 (InitSpecMsg). "
                    "The same ETL as a runtime spec, which works on both:\n", style="yellow")
        note.append(runtime, style="dim")
        return note

    def build(self, name: str, text: str) -> dict:
        return spec_init_msg(name, text, comm=self.value("comm"),
                             init_timeout=self.value("init_timeout") or "5m",
                             obj_timeout=self.value("obj_timeout") or "45s")
