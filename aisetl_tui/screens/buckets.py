"""Buckets: name, object count and size; create, destroy, open."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.binding import Binding

from backend.ais import AisClient, BucketSummary, bucket_name_problem

from ..rates import human_bytes
from ..widgets.table import KeyedTable
from ._base import TableScreen
from .dialogs import PromptScreen
from .objects import ObjectsScreen
from .offline import OfflineFormScreen


class BucketsScreen(TableScreen):
    TABLE_ID = "buckets"
    TITLE_TEXT = "buckets"
    INTERVAL = 5.0
    MUTATING = frozenset({"create", "destroy", "transform"})
    EMPTY = ("no buckets yet", (("create", "creates one"),))
    BINDINGS = [
        Binding("enter", "open", "Open", id="buckets.open"),
        Binding("c", "create", "Create", id="buckets.create"),
        Binding("ctrl+d", "destroy", "Destroy", id="buckets.destroy"),
        Binding("t", "transform", "Transform", id="buckets.transform"),
        Binding("slash", "filter", "Filter", id="buckets.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="buckets.refresh"),
    ]

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(["NAME", "OBJECTS", "SIZE"], right=["OBJECTS", "SIZE"], id="buckets")

    async def fetch(self, client: AisClient) -> list[BucketSummary | str]:
        buckets = await client.list_buckets()
        names = [b.name for b in buckets if b.provider in ("ais", "")]
        self.render_data(list(names))  # names first: the table fills before the counts arrive
        summaries = await asyncio.gather(*(client.bucket_summary(n) for n in names),
                                         return_exceptions=True)
        return [s if isinstance(s, BucketSummary) else n for n, s in zip(names, summaries,
                                                                         strict=True)]

    def render_data(self, data: list[BucketSummary | str]) -> None:
        rows = {}
        for item in data:
            if isinstance(item, BucketSummary):
                rows[item.name] = (item.name, f"{item.count:,}", human_bytes(item.size))
            else:
                old = self.table.row(item)
                rows[item] = old if old else (item, "…", "…")
        self.table.sync(rows)
        self.hint_if_empty()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "destroy", "transform") and self.table.selected_key is None:
            return False
        return super().check_action(action, parameters)

    def on_data_table_row_selected(self) -> None:
        """Enter on the table (the table, not the screen, receives the key)."""
        self.action_open()

    def action_open(self) -> None:
        if (name := self.table.selected_key) is not None:
            self.app.push_screen(ObjectsScreen(name))

    def action_create(self) -> None:
        def created(name: str | None) -> None:
            if name:
                self.change(lambda client: client.create_bucket(name),
                            f"created ais://{name}")

        self.app.push_screen(PromptScreen("Create bucket ais://", placeholder="name",
                                          validate=bucket_name_problem), created)

    def action_destroy(self) -> None:
        if (name := self.table.selected_key) is not None:
            self.change(lambda client: client.destroy_bucket(name), f"destroyed ais://{name}",
                        (f"Destroy bucket [b]ais://{name}[/b] and every object in it?",
                         "Destroy"))

    def action_transform(self) -> None:
        if (name := self.table.selected_key) is not None:
            self.app.push_screen(OfflineFormScreen(src=name))
