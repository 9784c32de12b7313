"""ETLs: stage, communication, counters; details, init, stop/start/delete, logs, pods."""

from __future__ import annotations

import asyncio

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from backend.ais import AisClient, EtlInfo

from ..etl_state import shown_stage, stage_text
from ..rates import human_bytes
from ..widgets.table import KeyedTable
from ._base import TableScreen
from .editor import EditorScreen
from .etl_details import EtlDetailsScreen
from .etl_init import InitCodeScreen, InitSpecScreen
from .logs import etl_logs_screen
from .offline import OfflineFormScreen
from .pods import PodsScreen

UNMEASURED = "—"  # hpull: the transformer answers the client itself; no target sees its output


class EtlsScreen(TableScreen):
    TABLE_ID = "etls"
    TITLE_TEXT = "etls"
    INTERVAL = 3.0
    MUTATING = frozenset({"init_code", "init_spec", "stop", "start", "delete", "offline"})
    EMPTY = ("no ETLs yet", (("init_code", "inits one from Python code"),
                             ("init_spec", "from a pod spec")))
    BINDINGS = [
        Binding("enter", "details", "Details", id="etls.details"),
        Binding("c", "init_code", "Code", id="etls.init_code"),
        Binding("y", "init_spec", "Spec", id="etls.init_spec"),
        Binding("e", "edit", "Edit", id="etls.edit"),
        Binding("s", "stop", "Stop", id="etls.stop"),
        Binding("r", "start", "Start", id="etls.start"),
        Binding("ctrl+d", "delete", "Delete", id="etls.delete"),
        Binding("l", "logs", "Logs", id="etls.logs"),
        Binding("p", "pods", "Pods", id="etls.pods"),
        Binding("o", "offline", "Offline", id="etls.offline"),
        Binding("slash", "filter", "Filter", id="etls.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="etls.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._comm: dict[tuple[str, str], str] = {}  # (name, xid) → communication
        self.etls: dict[str, EtlInfo] = {}

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(["NAME", "STAGE", "COMM", "OBJECTS", "IN", "OUT", "JOB"],
                         right=["OBJECTS", "IN", "OUT"], id="etls")

    async def fetch(self, client: AisClient) -> list[EtlInfo]:
        etls = await client.list_etls()
        listed = {e.name for e in etls}  # a deleted ETL's name may come back with another comm
        self._comm = {key: comm for key, comm in self._comm.items() if key[0] in listed}
        missing = [e for e in etls if (e.name, e.xid) not in self._comm]
        details = await asyncio.gather(*(client.etl_details(e.name) for e in missing),
                                       return_exceptions=True)
        for etl, d in zip(missing, details, strict=True):
            if not isinstance(d, BaseException):
                self._comm[(etl.name, etl.xid)] = str(d.init_msg.get("communication", ""))
        return etls

    def render_data(self, etls: list[EtlInfo]) -> None:
        self.etls = {e.name: e for e in etls}
        stopped = self.session.stopped_etls
        stopped.difference_update(e.name for e in etls if e.stage != "Aborted")  # re-started
        self.table.sync({e.name: (e.name, stage_text(shown_stage(e, stopped)),
                                  comm := self._comm.get((e.name, e.xid), ""),
                                  *_counters(e, comm), e.xid) for e in etls})
        self.hint_if_empty()
        self.refresh_bindings()

    @property
    def selected(self) -> EtlInfo | None:
        key = self.table.selected_key
        return self.etls.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        etl = self.selected
        if action in ("details", "delete", "logs", "pods", "edit") and etl is None:
            return False
        if action in ("stop", "offline") and (etl is None or etl.stage != "Running"):
            return False
        if action == "start" and (etl is None or etl.stage != "Aborted"):
            return False
        return super().check_action(action, parameters)

    # --- actions ----------------------------------------------------------------------------

    def on_data_table_row_selected(self) -> None:
        """Enter on the table (the table, not the screen, receives the key)."""
        self.action_details()

    def action_details(self) -> None:
        if (etl := self.selected) is not None:
            self.app.push_screen(EtlDetailsScreen(etl.name))

    def action_init_code(self) -> None:
        self.app.push_screen(InitCodeScreen(), lambda _: self.refresh_now())

    def action_init_spec(self) -> None:
        self.app.push_screen(InitSpecScreen(), lambda _: self.refresh_now())

    def action_edit(self) -> None:
        """The ETL's code in the editor, to change and run on a sample."""
        if (etl := self.selected) is not None:
            self.app.push_screen(EditorScreen(etl=etl.name), lambda _: self.refresh_now())

    def action_logs(self) -> None:
        if (etl := self.selected) is not None:
            self._open_logs(etl.name)

    @work(group="open-logs")
    async def _open_logs(self, etl: str) -> None:
        self.app.push_screen(await etl_logs_screen(self.session, etl))

    def action_pods(self) -> None:
        if (etl := self.selected) is not None:
            self.app.push_screen(PodsScreen(only=etl.name))

    def action_offline(self) -> None:
        if (etl := self.selected) is not None:
            self.app.push_screen(OfflineFormScreen(etl=etl.name))

    def action_stop(self) -> None:
        if (etl := self.selected) is None:
            return

        async def stop(client: AisClient) -> None:
            await client.stop_etl(etl.name)
            self.session.stopped_etls.add(etl.name)

        self.change(stop, f"ETL {etl.name} stopped",
                    (f"Stop ETL [b]{etl.name}[/b]? Its transformers are removed and "
                     "running transforms abort.", "Stop"))

    def action_start(self) -> None:
        if (etl := self.selected) is not None:
            self.change(lambda client: client.start_etl(etl.name), f"ETL {etl.name} started")

    def action_delete(self) -> None:
        if (etl := self.selected) is None:
            return
        running = (" It is running: its transformers stop, and transforms using it abort."
                   if etl.stage == "Running" else "")
        self.change(lambda client: client.delete_etl(etl.name), f"ETL {etl.name} deleted",
                    (f"Delete ETL [b]{etl.name}[/b]?{running}", "Delete"))


def _counters(etl: EtlInfo, comm: str) -> tuple[str, str, str]:
    """Objects, bytes in, bytes out; blank for an aborted ETL, which AIStore lists without;
    a dash for what the cluster cannot see (an hpull transformer's output)."""
    if etl.stage == "Aborted":
        return "", "", ""
    out = UNMEASURED if comm.startswith("hpull") else human_bytes(etl.out_bytes)
    return f"{etl.obj_count:,}", human_bytes(etl.in_bytes), out
