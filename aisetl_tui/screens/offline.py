"""The offline transform form: ETL, source, destination and options → the job monitor."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from backend.ais import AisError, bucket_name_problem, parse_pipeline

from ..session import UsesSession
from ..widgets.check import Check
from ..widgets.form_status import FormStatus
from ._base import EndsWorkersFirst
from .job_monitor import JobMonitorScreen


def parse_ext_map(text: str) -> dict[str, str]:
    """``"jpg:png, in:out"`` → ``{"jpg": "png", "in": "out"}``; raises ValueError."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        src, sep, dst = part.partition(":")
        if not sep or not src.strip(". ") or not dst.strip(". "):
            raise ValueError(f"extension mapping {part!r}: write it as old:new, e.g. jpg:png")
        out[src.strip(". ")] = dst.strip(". ")
    return out


class OfflineFormScreen(EndsWorkersFirst, UsesSession, ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="offline.cancel"),
                Binding("ctrl+s", "submit", "Start", id="offline.submit")]

    def __init__(self, src: str | None = None, etl: str | None = None) -> None:
        super().__init__()
        self.src, self.etl = src, etl
        self._suggested = ""  # the destination the form suggested (not the user's own)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form-dialog single"):
            yield Static("[b]Transform a bucket offline[/b]  [dim]ctrl+s start · esc cancel[/dim]")
            yield FormStatus(id="form-error")  # at the top: in view with the first fields
            yield Label("ETL")
            yield Select([], prompt="running ETL", id="etl")
            yield Label("Then through (a pipeline: next ETLs, comma separated)")
            yield Input(placeholder="optional, e.g. resize-etl, encode-etl", id="pipeline")
            yield Label("Source bucket")
            yield Select([], prompt="bucket", id="src")
            yield Label("Destination bucket (created if missing)")
            yield Input(id="dst")
            yield Label("Extension mapping (old:new, comma separated)")
            yield Input(placeholder="jpg:png", id="ext")
            yield Label("Only objects with prefix")
            yield Input(id="prefix")
            yield Label("Prepend to destination names")
            yield Input(id="prepend")
            yield Label("Workers per target (0 = auto)")
            yield Input("0", id="workers", type="integer")
            yield Check("Dry run (transform and count, write nothing)", id="dry_run")
            yield Check("Continue on error", id="coer")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Start", id="submit", variant="primary")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        client = self.session.client
        try:
            etls = [e.name for e in await client.list_etls() if e.stage == "Running"]
            buckets = [b.name for b in await client.list_buckets()]
        except AisError as err:
            self.fail(str(err))
            return
        for widget_id, names, chosen in (("etl", etls, self.etl), ("src", buckets, self.src)):
            select = self.query_one(f"#{widget_id}", Select)
            select.set_options([(n, n) for n in names])
            if chosen in names:
                select.value = chosen
            elif len(names) == 1:
                select.value = names[0]
        if not etls:
            self.fail("no ETL is running: init one first (:etls)")
        self._suggest_dst()
        if self.focused is None or isinstance(self.focused, VerticalScroll):  # the user's own
            empty = [s for s in self.query(Select) if s.value is Select.NULL]   # focus stays
            (empty[0] if empty else self.query_one("#dst", Input)).focus()

    @on(Select.Changed)
    def _suggest_dst(self) -> None:
        """``<source>-<etl>``, following the choices until the user types their own."""
        src, etl = self.query_one("#src", Select).value, self.query_one("#etl", Select).value
        dst = self.query_one("#dst", Input)
        if src is not Select.NULL and dst.value in ("", self._suggested):
            self._suggested = f"{src}-{etl}" if etl is not Select.NULL else f"{src}-out"
            dst.value = self._suggested

    def fail(self, message: str) -> None:
        self.query_one("#form-error", FormStatus).error(message)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        etl, src = self.query_one("#etl", Select).value, self.query_one("#src", Select).value
        dst = self.query_one("#dst", Input).value.strip()
        if etl is Select.NULL or src is Select.NULL:
            self.fail("choose an ETL and a source bucket")
            return
        if problem := bucket_name_problem(dst):
            self.fail(f"destination: {problem}")
            return
        dry_run = self.query_one("#dry_run", Check).value
        if dst == src and not dry_run:
            self.fail("the destination must differ from the source (or use a dry run)")
            return
        try:
            ext = parse_ext_map(self.query_one("#ext", Input).value)
            workers = int(self.query_one("#workers", Input).value or 0)
            pipeline = parse_pipeline(self.query_one("#pipeline", Input).value)
        except ValueError as err:
            self.fail(str(err))
            return
        options = {"ext": ext or None, "prefix": self.query_one("#prefix", Input).value,
                   "prepend": self.query_one("#prepend", Input).value, "dry_run": dry_run,
                   "continue_on_error": self.query_one("#coer", Check).value,
                   "num_workers": workers, "pipeline": pipeline}
        self.start(str(etl), str(src), dst, options)

    @work(exclusive=True, group="start")
    async def start(self, etl: str, src: str, dst: str, options: dict) -> None:
        client = self.session.client
        try:
            xid = await client.start_bucket_transform(src, dst, etl, **options)
        except AisError as err:
            self.fail(str(err))
            return
        self.session.remember_job(xid, etl, src, dst, options["prefix"],
                                  options["pipeline"], options)
        self.dismiss(None)
        self.app.push_screen(JobMonitorScreen(xid))
