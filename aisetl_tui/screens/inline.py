"""Transform one object inline: input and output side by side, and copy the result."""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from backend.ais import AisError, parse_pipeline, pipeline_text

from ..rates import human_bytes, human_elapsed
from ..widgets.byte_view import PREVIEW_BYTES, ByteView, looks_like_text
from ._base import AppScreen
from .dialogs import PromptScreen

PIPELINE_PROBLEM = "then: "


def parse_destination(text: str, default_name: str) -> tuple[str, str]:
    """``bucket`` or ``bucket/name`` (an optional ``ais://`` in front)."""
    text = text.removeprefix("ais://").strip("/")
    bucket, _, name = text.partition("/")
    return bucket, name or default_name


class InlineTransformScreen(AppScreen):
    TITLE_TEXT = "inline transform"
    MUTATING = frozenset({"copy"})
    BINDINGS = [
        Binding("ctrl+t", "run", "Transform", id="inline.run"),
        Binding("h", "toggle_hex", "Text/Hex", id="inline.hex"),
        Binding("ctrl+o", "copy", "Copy result to…", id="inline.copy"),
    ]

    def __init__(self, bucket: str, name: str, etl: str | None = None) -> None:
        super().__init__()
        self.bucket, self.obj, self.etl = bucket, name, etl
        self.input_data = b""
        self.output: bytes | None = None
        self.as_hex = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="inline-controls"):
            yield Label("ETL ")
            yield Select([], prompt="choose a running ETL", id="etl")
            yield Label(" then ")
            yield Input(placeholder="next ETLs (optional)", id="pipeline")
            yield Label(" args ")
            yield Input(placeholder="etl_args (optional)", id="args")
        with Horizontal(id="panes"):
            with Vertical():
                yield Static(f"input: ais://{self.bucket}/{self.obj}", id="in-caption",
                             markup=False)
                yield ByteView(id="input")
            with Vertical():
                yield Static("output", id="out-caption")
                yield ByteView(id="output")

    def on_mount(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one("#etl", Select).focus()

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        client = self.session.client
        assert client is not None
        try:
            etls = [e.name for e in await client.list_etls() if e.stage == "Running"]
            self.input_data = await client.get_object(self.bucket, self.obj, PREVIEW_BYTES)
        except AisError as err:
            self.show_problem(str(err))
            return
        select = self.query_one("#etl", Select)
        select.set_options([(n, n) for n in etls])
        if self.etl in etls:
            select.value = self.etl
        elif len(etls) == 1:
            select.value = etls[0]
        if not etls:
            self.show_problem("no ETL is running: init one on the ETLs screen (:etls)", "yellow")
        self.as_hex = not looks_like_text(self.input_data)
        self._show()
        if select.value is not Select.NULL:
            self.action_run()

    def _show(self) -> None:
        self.query_one("#input", ByteView).show(self.input_data, self.as_hex)
        self.query_one("#output", ByteView).show(self.output or b"", self.as_hex)

    @on(Select.Changed, "#etl")
    def _etl_chosen(self) -> None:
        self.action_run()

    def _pipeline(self) -> list[str] | None:
        """The next stages typed after the ETL, or None (and the problem shown) if one is not
        an ETL name."""
        try:
            pipeline = parse_pipeline(self.query_one("#pipeline", Input).value)
        except ValueError as err:
            self.show_problem(f"{PIPELINE_PROBLEM}{err}")
            return None
        if self.problem.startswith(PIPELINE_PROBLEM):  # others stay (a load error)
            self.show_problem("")
        return pipeline

    @on(Input.Submitted, "#args")
    @on(Input.Submitted, "#pipeline")
    def action_run(self) -> None:
        etl = self.query_one("#etl", Select).value
        pipeline = self._pipeline()
        if etl is Select.NULL or pipeline is None:
            return
        self.transform(str(etl), self.query_one("#args", Input).value, pipeline)

    @work(exclusive=True, group="transform")
    async def transform(self, etl: str, args: str, pipeline: list[str]) -> None:
        assert self.session.client is not None
        chain = pipeline_text(etl, pipeline)
        caption = self.query_one("#out-caption", Static)
        caption.update(f"output of {chain}: transforming…")
        start = time.perf_counter()
        try:
            self.output = await self.session.client.transform_object(
                self.bucket, self.obj, etl, args, max_bytes=None, pipeline=pipeline)
        except AisError as err:
            self.output = None
            caption.update(f"[red]{chain} failed[/]")
            self.query_one("#output", ByteView).show(str(err).encode(), as_hex=False)
            return
        took = human_elapsed(time.perf_counter() - start)
        caption.update(f"output of {chain}: {human_bytes(len(self.output))} in {took}")
        self._show()

    def action_toggle_hex(self) -> None:
        self.as_hex = not self.as_hex
        self._show()

    def action_copy(self) -> None:
        etl = self.query_one("#etl", Select).value
        if etl is Select.NULL:
            self.notify("choose an ETL first", severity="warning")
            return
        pipeline = self._pipeline()
        if pipeline is None:
            return

        def chosen(text: str | None) -> None:
            if text:
                bucket, name = parse_destination(text, self.obj)
                self._copy(str(etl), pipeline, bucket, name)

        self.app.push_screen(PromptScreen(
            f"Copy the transformed ais://{self.bucket}/{self.obj} to (bucket or bucket/name)",
            value=f"{self.bucket}-{etl}",
            validate=lambda text: None if text else "a destination is required: a bucket, "
            "or bucket/name"), chosen)

    @work(group="copy")
    async def _copy(self, etl: str, pipeline: list[str], bucket: str, name: str) -> None:
        assert self.session.client is not None
        try:
            await self.session.client.copy_transformed(self.bucket, self.obj, etl, bucket, name,
                                                   self.query_one("#args", Input).value,
                                                   pipeline=pipeline)
            self.notify(f"copied to ais://{bucket}/{name}")
        except AisError as err:
            self.notify(str(err), severity="error", timeout=10)
