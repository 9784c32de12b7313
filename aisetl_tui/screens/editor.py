"""The ETL developer's loop on one screen: edit a transform, ``ctrl+r`` to re-init it under its
name and run it on a sample of objects, see each output (or its error, at its line in the
code), and how this run differs from the one before."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import threading
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static, TextArea

from backend.ais import AisClient, AisError, etl_name_problem, parse_etl_error
from backend.local import ClusterError, start_in_background

from .. import dev_loop
from ..contexts import Context, contexts_path, deployed_embedded, token_for
from ..error_groups import error_line
from ..etl_code import (
    KIND_TEXT,
    CodeOptions,
    CodeProblem,
    Kind,
    code_kind,
    code_msg,
    code_problem,
    dependencies_of,
    missing_imports,
    source_of,
)
from ..markup import escape
from ..rates import human_bytes
from ..sample_run import (
    Comparison,
    SampleResult,
    SampleRun,
    SampleSpec,
    compare,
    describe_output,
    failing_line,
    latency_text,
    log_at,
    percentile,
    user_code_line,
)
from ..widgets.byte_view import ByteView
from ..widgets.table import KeyedTable
from ._base import AppScreen
from .contexts import ContextsScreen
from .dialogs import ConfirmScreen
from .etl_init import default_etl_name, read_text
from .promoted import PromotedScreen

NEW_CODE = '''import hashlib


def transform(input_bytes: bytes) -> bytes:
    return hashlib.md5(input_bytes).hexdigest().encode()
'''
NOT_SENT = "not sent: "
COMMS = [("hpush://", "hpush"), ("hpull://", "hpull"), ("ws://", "ws")]
CHANGE_STYLE = {"changed": "yellow", "new error": "bold red", "still failing": "red",
                "fixed": "green", "same": "dim", "new": ""}


class EditorScreen(AppScreen):
    TITLE_TEXT = "edit"
    MUTATING = frozenset({"run", "promote"})
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("ctrl+r", "run", "Run on sample", id="editor.run", priority=True),
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("ctrl+o", "promote", "Promote to…", id="editor.promote", priority=True),
        Binding("ctrl+n", "new_sample", "New sample", id="editor.new_sample"),
        Binding("ctrl+l", "switch_focus", "Code/Results", id="editor.switch", priority=True),
    ]

    def __init__(self, path: str = "", etl: str = "", bucket: str = "") -> None:
        """On the file ``path`` (saved back to it), or on the current code of ETL ``etl``
        (saved to a file the user names); ``bucket``: the sample's."""
        super().__init__()
        self.path = Path(path).expanduser() if path else None
        self.etl, self.bucket = etl, bucket
        self.saved_text = ""  # what the file holds (for "unsaved")
        self.runs: list[SampleRun] = []
        self.comparison: Comparison | None = None
        self.seed = 0  # of the random sample: the same objects every run, until ctrl+n
        self.refused_code = ""  # the code a "not sent" problem is about
        self.owned = {etl} if etl else set()  # ETL names each run may replace without asking

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="editor-body"):
            yield TextArea.code_editor("", language="python", id="code", soft_wrap=False)
            with Vertical(id="trial"):
                with Horizontal(classes="editor-fields"):
                    yield Label("ETL")
                    yield Input(placeholder="name", id="etl-name", compact=True)
                    yield Input(placeholder="dependencies (pip, comma separated)", id="deps",
                                compact=True)
                    yield Select(COMMS, value="hpush", allow_blank=False, id="comm",
                                 compact=True)
                with Horizontal(classes="editor-fields"):
                    yield Label("sample")
                    yield Select([("first", "first"), ("random", "random")], value="first",
                                 allow_blank=False, id="pick", compact=True)
                    yield Input("8", placeholder="N", id="count", compact=True,
                                type="integer")
                    yield Label("of")
                    yield Input(placeholder="bucket", id="bucket", compact=True)
                    yield Input(placeholder="prefix", id="prefix", compact=True)
                yield Static("", id="run-status")
                yield KeyedTable(["OBJECT", "IN", "OUT", "LATENCY", "Δ", "VS LAST"],
                                 sort_rows=False, right=["IN", "OUT", "LATENCY", "Δ"],
                                 id="samples")
                yield Static("", id="sample-caption")
                yield ByteView(id="sample-output")
                with VerticalScroll(id="sample-error"):
                    yield Static("")

    def on_mount(self) -> None:
        self.query_one("#etl-name", Input).value = self.etl or default_etl_name(
            str(self.path or "")) or "dev-etl"
        self.query_one("#bucket", Input).value = self.bucket
        self.load()

    def focus_main(self) -> None:
        self.code.focus()

    @property
    def code(self) -> TextArea:
        return self.query_one("#code", TextArea)

    @property
    def samples(self) -> KeyedTable:
        return self.query_one("#samples", KeyedTable)

    def title_text(self) -> str:
        where = str(self.path) if self.path else f"ETL {self.etl}" if self.etl else "new code"
        editor = next(iter(self.query("#code").results(TextArea)), None)
        text = editor.text if editor else ""
        unsaved = " · unsaved" if text != self.saved_text else ""
        return f"edit · {where}{unsaved} · {KIND_TEXT[code_kind(text)]}"

    # --- loading and saving -------------------------------------------------------------------

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        """The code (from the file, the ETL, or a starting example) and a bucket to sample."""
        text = NEW_CODE
        if self.path is not None:
            text, problem = await asyncio.to_thread(read_text, str(self.path))
            if text is None and self.path.exists():
                self.show_problem(problem or f"cannot read {self.path}")
                text = ""
            elif text is None:  # a new file: it is written at the first save
                text = NEW_CODE
            else:
                self.saved_text = text
        elif self.etl and self.client is not None:
            try:
                details = await self.client.etl_details(self.etl)
            except AisError as err:
                self.show_problem(f"ETL {self.etl}: {err}")
                details = None
            source = source_of(details.init_msg) if details else None
            if details is not None and source is None:
                self.show_problem(f"ETL {self.etl} was initialized from a spec or a serialized "
                                  "class, which carries no source: open its file (:edit FILE)",
                                  "yellow")
            text = source or ""
            self.saved_text = "" if source is None else source
            if details is not None:
                self.query_one("#deps", Input).value = ", ".join(
                    dependencies_of(details.init_msg))
            comm = str(details.init_msg.get("communication", "")) if details else ""
            if comm.removesuffix("://") in dict(COMMS).values():
                self.query_one("#comm", Select).value = comm.removesuffix("://")
        self.code.load_text(text)
        self.retitle()
        if not self.query_one("#bucket", Input).value and self.client is not None:
            self.query_one("#bucket", Input).value = await self._first_bucket()

    async def _first_bucket(self) -> str:
        """A bucket with objects in it, for the sample ("" when there is none)."""
        assert self.client is not None
        try:
            for bucket in await self.client.list_buckets():
                if (await self.client.list_objects(bucket.name, page_size=1)).entries:
                    return bucket.name
        except AisError:
            pass
        return ""

    @on(TextArea.Changed, "#code")
    def _code_changed(self) -> None:
        self.retitle()
        if self.problem.startswith(NOT_SENT) and self.code.text != self.refused_code:
            self.show_problem("")  # it was about the code as it was

    def action_save(self) -> None:
        text = self.code.text
        if self.path is None:
            self.save_as("Save the code to:", f"{self.query_one('#etl-name', Input).value}.py",
                         lambda path: self._saved_to(path, text), "the code")
            return
        self._write(self.path, text)

    def _saved_to(self, path: Path, text: str) -> str:
        """(in the save thread) From now on, ctrl+s saves to ``path``."""
        self.app.call_from_thread(self._now_on, path, text)
        return text

    def _now_on(self, path: Path, text: str) -> None:
        self.path, self.saved_text = path, text
        self.retitle()

    @work(group="save")
    async def _write(self, path: Path, text: str) -> None:
        try:
            await asyncio.to_thread(path.write_text, text)
        except OSError as err:
            self.notify(f"could not save {path}: {err}", severity="error", timeout=10)
            return
        self.saved_text = text
        self.retitle()
        self.notify(f"saved {path}")

    def action_back(self) -> None:
        """Esc: leaving with unsaved changes asks first."""
        if self.code.text == self.saved_text or not self.code.text.strip():
            super().action_back()
            return
        self.app.push_screen(ConfirmScreen("The code has unsaved changes. Leave without "
                                           "saving them?", "Leave"),
                             lambda leave: super(EditorScreen, self).action_back()
                             if leave else None)

    # --- focus --------------------------------------------------------------------------------

    def action_switch_focus(self) -> None:
        (self.samples if self.code.has_focus else self.code).focus()

    # --- a run --------------------------------------------------------------------------------

    def spec(self) -> SampleSpec | str:
        """The sample the fields ask for, or what is wrong with them."""
        bucket = self.query_one("#bucket", Input).value.strip().removeprefix("ais://")
        count_text = self.query_one("#count", Input).value.strip()
        if not bucket:
            return "bucket: name the bucket to take the sample from"
        if not count_text.isdigit() or not 1 <= int(count_text) <= 1000:
            return "N: the number of objects to try, 1 to 1,000"
        return SampleSpec(bucket.strip("/"), int(count_text),
                          str(self.query_one("#pick", Select).value),  # type: ignore[arg-type]
                          self.query_one("#prefix", Input).value.strip())

    def options(self) -> CodeOptions:
        """How the code is sent: the communication and dependencies chosen."""
        deps = self.query_one("#deps", Input).value
        return CodeOptions(comm=str(self.query_one("#comm", Select).value),
                           dependencies=tuple(d.strip() for d in deps.split(",") if d.strip()))

    def action_new_sample(self) -> None:
        """Another random pick at the next run."""
        self.seed += 1
        self.notify("the next run picks a new random sample")

    def action_run(self) -> None:
        name = self.query_one("#etl-name", Input).value.strip()
        if problem := etl_name_problem(name):
            self.show_problem(f"ETL name: {problem}")
            return
        spec = self.spec()
        if isinstance(spec, str):
            self.show_problem(spec)
            return
        text = self.code.text
        kind = code_kind(text)
        if kind != "server" and (problem := code_problem(text, "transform", kind == "script")):
            self._code_problem(problem)
            return
        self.show_problem("")
        self.run_sample(name, text, kind, spec)

    def _code_problem(self, problem: CodeProblem) -> None:
        """Shown, and its line selected in the code; nothing is sent."""
        self.refused_code = self.code.text
        self.show_problem(f"{NOT_SENT}{problem}")
        if problem.line:
            self._select_line(problem.line)

    def _select_line(self, line: int) -> None:
        if 1 <= line <= self.code.document.line_count:
            self.code.select_line(line - 1)
            self.code.scroll_cursor_visible(center=True)

    @work(exclusive=True, group="run")
    async def run_sample(self, name: str, text: str, kind: Kind, spec: SampleSpec) -> None:
        client = self.client
        if client is None:
            self.show_problem("not connected to a cluster yet: the status line says why")
            return
        options = self.options()
        status = self.query_one("#run-status", Static)
        if self.session.embedded:  # its transformers run on this Python
            missing = await asyncio.to_thread(missing_imports, text, options.dependencies)
            if missing:
                self._code_problem(missing[0])
                return
        if not await self._may_replace(client, name):
            return
        status.update(Text(f"initializing {name}…", style="yellow"))
        try:
            msg = await asyncio.to_thread(code_msg, name, text, kind, options,
                                          self.session.supports_init_code)
        except ValueError as err:
            status.update("")
            self.show_problem(f"{NOT_SENT}{err}")
            return
        try:
            replaced = await dev_loop.reinit(client, msg)
            objects = await dev_loop.sample_objects(client, spec, self.seed)
        except AisError as err:
            failure = parse_etl_error(err.message)
            status.update(Text("\n".join(failure.lines()) if failure else str(err), style="red"))
            return
        self.etl = name
        await asyncio.to_thread(importlib.import_module, "PIL.Image")  # (for the previews)
        run = SampleRun(len(self.runs) + 1, text, spec, replaced, kind)
        self.runs.append(run)
        self.samples.sync({})
        if not objects:
            status.update(Text(f"run {run.number}: no objects in {spec.describe()}",
                               style="yellow"))
            return
        self._show_status(run)
        stop = threading.Event()

        def report(result: SampleResult) -> None:
            self.app.call_from_thread(self._add_result, run, result)

        try:
            await asyncio.to_thread(dev_loop.measure_sample, client, name, spec.bucket,
                                    objects, report, stop)
        finally:
            stop.set()  # (when the run is cancelled: a new ctrl+r, or the screen closed)
        await self._add_logs(client, run)
        failed = [r for r in run.results.values() if not r.ok]
        if failed and (line := failing_line(failed[0], kind == "server")):
            self._select_line(line)

    async def _add_logs(self, client: AisClient, run: SampleRun) -> None:
        """For each failed object whose error has no traceback (a real cluster's SDK
        servers answer with the message alone), the transformer's log at that object."""
        bare = [r for r in run.results.values()
                if not r.ok and user_code_line(r.error, run.kind == "server") is None]
        if not bare:
            return
        try:
            logs = await client.etl_logs(self.etl)
        except AisError:
            return
        for result in bare:
            needle = f"{run.spec.bucket}/{result.name}"
            found = next((f"t[{log.target_id}]: {text}" for log in logs
                          if (text := log_at(log.text, needle))), "")
            if found:
                run.results[result.name] = dataclasses.replace(result, log=found)
        self._show_run(run)

    async def _may_replace(self, client, name: str) -> bool:
        """Yes when the name is free, its ETL was made here (or opened here), or the user
        says so (once per name)."""
        if name in self.owned:
            return True
        try:
            existing = next((e for e in await client.list_etls() if e.name == name), None)
        except AisError as err:
            self.show_problem(str(err))
            return False
        if existing is not None and not await self.app.push_screen_wait(ConfirmScreen(
                f"An ETL named [b]{escape(name)}[/b] exists ({escape(existing.stage or '?')})."
                " Each run replaces it with this code. Go on?", "Replace")):
            return False
        self.owned.add(name)
        return True

    # --- promotion ----------------------------------------------------------------------------

    def action_promote(self) -> None:
        """Re-create the ETL of the last run on another context, then run its sample there."""
        if not self.runs:
            self.notify("run it here first (ctrl+r): the run there is compared with it",
                        severity="warning")
            return
        app = self.app
        if len(app.contexts) < 2:  # type: ignore[attr-defined]
            self.notify(f"no other cluster to promote to: add one to {contexts_path()}",
                        severity="warning", timeout=10)
            return
        self.app.push_screen(ContextsScreen(app.contexts, app.context,  # type: ignore[attr-defined]
                                            self.promote, verb="Promote the ETL to"))

    @work(exclusive=True, group="promote")
    async def promote(self, context: Context) -> None:
        if context.name == self.app.context.name:  # type: ignore[attr-defined]
            self.notify("that is the cluster it runs on now", severity="warning")
            return
        run = self.runs[-1]
        options = self.options()
        try:
            endpoint = context.endpoint or (await asyncio.to_thread(
                start_in_background, self.app.data_dir)).endpoint  # type: ignore[attr-defined]
        except ClusterError as err:
            self.notify(f"the embedded cluster: {err}", severity="error", timeout=10)
            return
        token = context.token_value() or token_for(endpoint, context.embedded)
        async with AisClient(endpoint, token=token) as there:
            try:
                init_code = context.embedded or await deployed_embedded(there)
                msg = await asyncio.to_thread(code_msg, self.etl, run.code,
                                              run.kind, options, init_code)
                existing = next((e for e in await there.list_etls() if e.name == self.etl),
                                None)
            except (AisError, ValueError) as err:
                self.notify(f"{context.describe()}: {err}", severity="error", timeout=10)
                return
            replaces = (f"\nIt replaces the ETL named {self.etl} there "
                        f"({existing.stage or 'stage unknown'})." if existing else "")
            question = (f"Re-create ETL [b]{escape(self.etl)}[/b] on [b]{escape(context.name)}"
                        f"[/b] ({escape(endpoint)}), as {escape(dev_loop.how_sent(msg))}, then "
                        f"run the sample of run {run.number} there?{escape(replaces)}\n\n"
                        f"[dim]{escape(dev_loop.message_summary(msg))}[/dim]")
            if not await self.app.push_screen_wait(ConfirmScreen(question, "Promote")):
                return
            self.notify(f"initializing {self.etl} on {context.name}…")
            try:
                replaced = await dev_loop.reinit(there, msg)
                objects = await dev_loop.sample_objects(there, run.spec, self.seed)
            except AisError as err:
                failure = parse_etl_error(err.message)
                self.notify(f"on {context.name}: " + ("; ".join(failure.lines()) if failure
                                                       else str(err)), severity="error",
                            timeout=15)
                return
            results: dict[str, SampleResult] = {}
            await asyncio.to_thread(dev_loop.measure_sample, there, self.etl, run.spec.bucket,
                                    objects, lambda r: results.__setitem__(r.name, r),
                                    threading.Event())
        self.app.push_screen(PromotedScreen(self.etl, context.describe(), run, results,
                                            replaced))

    def _add_result(self, run: SampleRun, result: SampleResult) -> None:
        if run is self.runs[-1]:
            run.results[result.name] = result
            self._show_run(run)

    def _show_run(self, run: SampleRun) -> None:
        previous = self.runs[-2] if len(self.runs) > 1 else None
        self.comparison = compare(previous, run)
        rows = {}
        for name, r in sorted(run.results.items()):
            before = previous.results.get(name) if previous else None
            delta = r.latency - before.latency if before and before.ok and r.ok else None
            what = self.comparison.changes[name]
            rows[name] = [name, human_bytes(r.in_size),
                          human_bytes(r.out_size) if r.ok else Text("error", style="red"),
                          latency_text(r.latency),
                          latency_text(delta, sign=True) if delta is not None else "",
                          Text(what, style=CHANGE_STYLE[what]) if previous else ""]
        self.samples.sync(rows)
        self._show_status(run)
        self._show_sample()

    def _show_status(self, run: SampleRun) -> None:
        latencies = run.latencies()
        text = Text.assemble((f"run {run.number}", "bold"), f" · {run.spec.describe()}")
        if run.replaced:
            text.append(f" · replaced {run.replaced}", style="dim")
        text.append(f"\n{len(run.results) - run.failed} ok")
        if run.failed:
            text.append(f", {run.failed} failed", style="red")
        text.append(f" · p50 {latency_text(percentile(latencies, .5))} · p95 "
                    f"{latency_text(percentile(latencies, .95))}")
        if self.comparison is not None and len(self.runs) > 1:
            counts = self.comparison.counts()
            said = ", ".join(f"{n} {what}" for what, n in counts.items())
            text.append(f"\nvs run {run.number - 1}: {said} · p50 "
                        f"{latency_text(self.comparison.p50_delta, sign=True)} · p95 "
                        f"{latency_text(self.comparison.p95_delta, sign=True)}")
        self.query_one("#run-status", Static).update(text)

    @on(DataTable.RowHighlighted, "#samples")
    def _show_sample(self) -> None:
        """The highlighted sample's output, or its error (its line selected in the code)."""
        key = self.samples.selected_key
        result = self.runs[-1].results.get(key) if self.runs and key else None
        caption = self.query_one("#sample-caption", Static)
        view = self.query_one("#sample-output", ByteView)
        if result is None:
            caption.update("")
            view.show(b"", False)
            return
        error_view = self.query_one("#sample-error", VerticalScroll)
        view.display, error_view.display = result.ok, not result.ok
        if not result.ok:
            line = failing_line(result, self.runs[-1].kind == "server")
            caption.update(Text(f"{result.name}: failed" + (f" at line {line}" if line else ""),
                                style="red"))
            error_view.query_one(Static).update(error_text(
                result.error, result.log, self.runs[-1].kind == "server"))
            if line and not self.code.has_focus:
                self._select_line(line)
            return
        what, as_hex = _describe(result)
        caption.update(f"{result.name} → {what} in {latency_text(result.latency)}")
        view.show(result.head, as_hex)


def error_text(message: str, log: str = "", dynamic_is_user: bool = False) -> Text:
    """An error as it reads best: what went wrong first, then the traceback (and the
    transformer's ``log`` at the object, if any), the frames in the user's code picked out."""
    text = Text.assemble((error_line(message), "bold red"))  # (Text(style=) styles it all)
    lines = message.rstrip().splitlines()
    if len(lines) > 1:
        text.append("\n")
        _append_traceback(text, lines, dynamic_is_user)
    if log:
        text.append("\n\nthe transformer's log at this object:", style="bold")
        _append_traceback(text, log.splitlines(), dynamic_is_user)
    return text


def _append_traceback(text: Text, lines: list[str], dynamic_is_user: bool) -> None:
    in_user_code = False
    for line in lines:
        if line.lstrip().startswith("File "):
            in_user_code = user_code_line(line, dynamic_is_user) is not None
        text.append(f"\n{line}", style="yellow" if in_user_code else "dim")


def _describe(result: SampleResult) -> tuple[str, bool]:
    what, as_hex = describe_output(result.head, result.out_size)
    if result.out_size >= dev_loop.MAX_OUTPUT:
        what += f" (read up to {human_bytes(dev_loop.MAX_OUTPUT)})"
    return what, as_hex
