"""One ETL: how it was initialized (code or spec, highlighted), its stage and why, and the
per-object errors of its inline transforms."""

from __future__ import annotations

import base64
import binascii

import yaml
from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from backend.ais import AisError, EtlDetails, parse_etl_error

from ..etl_state import stage_text
from ._base import AppScreen
from .errors import ErrorsScreen

MAX_ENV_VALUE = 60


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode(errors="replace")
    except (binascii.Error, ValueError):
        return value


def init_msg_view(msg: dict) -> list[RenderableType]:
    """The parts of an init message worth reading, code and specs highlighted."""
    parts: list[RenderableType] = []
    shown = {k: v for k, v in msg.items() if k not in ("code", "spec", "dependencies")}
    env = (shown.get("runtime") or {}).get("env") if isinstance(shown.get("runtime"), dict) \
        else None
    if env:
        shown["runtime"] = {**shown["runtime"], "env": [
            {**e, "value": (str(e.get("value", ""))[:MAX_ENV_VALUE] + "…")
             if len(str(e.get("value", ""))) > MAX_ENV_VALUE else e.get("value", "")}
            for e in env]}
    parts.append(Syntax(yaml.safe_dump(shown, sort_keys=False), "yaml", word_wrap=True))
    if msg.get("code"):
        parts += [Text("code", style="bold"), Syntax(_decode(msg["code"]), "python",
                                                     line_numbers=True, word_wrap=True)]
    if msg.get("dependencies"):
        parts += [Text("dependencies", style="bold"), Text(_decode(msg["dependencies"]))]
    if msg.get("spec"):
        parts += [Text("pod spec", style="bold"), Syntax(_decode(msg["spec"]), "yaml",
                                                         line_numbers=True, word_wrap=True)]
    return parts


def errors_view(details: EtlDetails) -> RenderableType:
    if not details.obj_errors:
        return Text("no per-object errors", style="dim")
    lines = [Text.assemble((e.obj_name, "bold"), f"  [{e.ecode}]  ", e.message)
             for e in details.obj_errors[-200:]]
    return Group(*lines)


class EtlDetailsScreen(AppScreen):
    TITLE_TEXT = "etl"
    BINDINGS = [Binding("e", "errors", "Errors", id="etl.errors"),
                Binding("ctrl+r", "refresh", "Refresh", id="etl.refresh")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.etl_name = name

    def action_errors(self) -> None:
        """The error workbench of the ETL's inline transforms."""
        self.app.push_screen(ErrorsScreen(self.etl_name))

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="stage")
            yield Static(id="msg")
            yield Static(Text("inline transform errors", style="bold"))
            yield Static(id="errors")

    def on_mount(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_refresh(self) -> None:
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        assert self.session.client is not None
        try:
            details = await self.session.client.etl_details(self.etl_name)
        except AisError as err:
            self.show_problem(str(err))
            return
        stage = Text.assemble((self.etl_name, "bold"), "  ", stage_text(details.stage))
        if details.reason:
            failure = parse_etl_error(details.reason)  # AIStore's ErrETL: said as fields
            reason = "\n".join(failure.lines()) if failure else details.reason
            stage.append(f"\n{reason}", style="red" if details.stage == "Aborted" else "")
        self.query_one("#stage", Static).update(stage)
        self.query_one("#msg", Static).update(Group(*init_msg_view(details.init_msg)))
        self.query_one("#errors", Static).update(errors_view(details))


