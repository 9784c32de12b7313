"""The error workbench of a job (or of an ETL's inline transforms): its per-object errors
grouped by what they say, with counts, when first seen, the targets and examples; a group's
objects and the whole error of one; the transformer log at that object; a retry of just the
failed objects into the same destination; the errors exported as CSV or JSON."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from backend.ais import AisClient, AisError, ClusterMap, ObjError

from ..error_groups import (
    ErrorGroup,
    cap_note,
    error_line,
    errors_csv,
    errors_json,
    group_errors,
    named_target,
    object_name,
    split_name,
)
from ..markup import escape
from ..rates import noun_for
from ..widgets.table import KeyedTable
from ._base import PollingScreen
from .dialogs import ConfirmScreen, TextScreen
from .logs import LogsScreen

MAX_OBJECTS_SHOWN = 100  # rows of the objects table, at most (the group holds them all)
DETAIL_ROWS = 9  # the error pane's rows (its max-height in app.tcss)


class ErrorsScreen(PollingScreen):
    TITLE_TEXT = "errors"
    INTERVAL = 5.0
    MUTATING = frozenset({"retry", "retry_all"})
    BINDINGS = [
        Binding("enter", "objects", "Objects", id="errors.objects"),
        Binding("l", "log", "Log at object", id="errors.log"),
        Binding("v", "view_error", "Whole error", id="errors.view"),
        Binding("r", "retry", "Retry group", id="errors.retry"),
        Binding("f", "retry_all", "Retry all failed", id="errors.retry_all"),
        Binding("x", "export", "Export", id="errors.export"),
        Binding("slash", "filter", "Filter", id="errors.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="errors.refresh"),
    ]

    def __init__(self, etl: str, xid: str = "", src: str = "", dst: str = "",
                 open_job: Callable[[str], None] | None = None,
                 known: tuple[list[ObjError], list[ErrorGroup]] | None = None) -> None:
        """A job's errors (``xid``, its ``src`` and ``dst`` buckets, for a retry; the retry
        job is shown by ``open_job``), or the inline errors of ETL ``etl`` (no ``xid``:
        nothing to retry). ``known``: the errors and their groups as the opener has them,
        shown at once (the screen then fetches its own)."""
        super().__init__()
        self.known = known
        self.etl, self.xid, self.src, self.dst = etl, xid, src, dst
        self.open_job = open_job
        self.errors: list[ObjError] = []
        self.groups: dict[str, ErrorGroup] = {}
        self.first_seen: dict[str, float] = {}
        self.smap: ClusterMap | None = None  # where each object lives, so who failed it
        self.placed: dict[str, str] = {}  # object → the target that holds it (computed)
        self.reported: dict[str, int] = {}  # target → its count of failed objects (a job's)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="caption")
        yield KeyedTable(["COUNT", "FIRST SEEN", "TARGETS", "ERROR", "EXAMPLES"],
                         sort_rows=False, right=["COUNT"], id="groups")
        yield KeyedTable(["OBJECT", "CODE", "TARGET", "ERROR"], sort_rows=False, id="objects")
        yield Static("", id="detail")

    def on_mount(self) -> None:
        # when each object was first seen failing, as the job's monitor saw it too
        self.first_seen = self.session.error_seen.setdefault(self.xid or f"inline:{self.etl}",
                                                            {})
        if self.known is not None and self.known[0]:
            self.render_data(self.known)
        else:
            self.known = None

    def on_screen_resume(self) -> None:
        """With what the opener knew on screen, the first fetch waits a little: grouping
        10,000 errors again at once would slow the screen's first paint."""
        if self.known is None:
            super().on_screen_resume()
            return
        self.known = None
        self._timer = self.set_timer(1.0, self.refresh_now)

    def title_text(self) -> str:
        what = f"job {self.xid}" if self.xid else f"ETL {self.etl} inline"
        return f"errors · {what}"

    @property
    def group_table(self) -> KeyedTable:
        return self.query_one("#groups", KeyedTable)

    @property
    def object_table(self) -> KeyedTable:
        return self.query_one("#objects", KeyedTable)

    def focus_main(self) -> None:
        self.group_table.focus()

    def apply_filter(self, text: str) -> None:
        self.group_table.set_filter(text)
        self._caption()
        self._show_objects()  # (of the group highlighted now: the one before may be gone)

    # --- data -------------------------------------------------------------------------------

    async def fetch(self, client: AisClient) -> tuple[list[ObjError], list[ErrorGroup]]:
        """The errors, grouped in a thread (10,000 of them take a tenth of a second)."""
        if self.smap is None:
            self.smap = await client.cluster_map()
        errors = (await client.etl_details(self.etl, job_id=self.xid)).obj_errors
        if self.xid:
            self.reported = {s.target_id: s.obj_errors for s in await client.job_snaps(self.xid)}
        groups = await asyncio.to_thread(group_errors, errors, self.first_seen, time.time(),
                                         self.where)
        return errors, groups

    def where(self, err: ObjError) -> str:
        """The target of an error, once :meth:`place` knows it ("" until then)."""
        return self.placed.get(err.obj_name, "")

    @work(thread=True, exclusive=True, group="place",
          description="placing the failed objects")  # (else the errors' repr: 0.3 s)
    def place(self, errors: list[ObjError]) -> None:
        """Which target each error happened on: the one it names, else the object's owner
        (the target that transforms an object is the one that holds it; AIStore's placement
        weighs every target for every object: a third of a second for 10,000 on 32
        targets). Then the targets are shown."""
        smap, placed = self.smap, {}
        for err in errors:
            if err.obj_name in self.placed:
                continue
            owner = None if (named := named_target(err)) or smap is None else \
                smap.owner(*split_name(err.obj_name))
            placed[err.obj_name] = named or (owner.id if owner else "")
        self.app.call_from_thread(self._placed, placed)

    def _placed(self, placed: dict[str, str]) -> None:
        self.placed.update(placed)
        for group in self.groups.values():
            group.targets = {t for e in group.errors if (t := self.where(e))}
        self._show_groups()
        self._caption()
        self._show_objects()

    def render_data(self, data: tuple[list[ObjError], list[ErrorGroup]]) -> None:
        self.errors, groups = data
        self.groups = {g.pattern: g for g in groups}  # (one group per pattern: the row key)
        self._show_groups()
        self._caption()
        self._show_objects()
        if any(e.obj_name not in self.placed for e in self.errors):  # (after this paint)
            self.set_timer(0.3, lambda: self.place(self.errors))
        if not self.errors:
            self.show_problem("no per-object errors" + (" in this job" if self.xid else ""),
                              "dim")

    def _show_groups(self) -> None:
        self.group_table.sync({key: [str(g.count), _when(g.first_seen),
                                     " ".join(_node(t) for t in sorted(g.targets)),
                                     g.pattern, ", ".join(object_name(e) for e in g.examples)]
                               for key, g in self.groups.items()})

    def _caption(self) -> None:
        failed = len({e.obj_name for e in self.errors})
        table = self.group_table
        shown = f" ({table.shown:,} shown: /{table.filter_text})" if table.filter_text else ""
        text = Text()
        for n, noun, after in ((len(self.errors), "error", " on "), (failed, "object", " in "),
                               (len(self.groups), "group", shown)):
            text.append(f"{n:,}", style="bold")
            text.append(f" {noun_for(n, noun)}{after}")
        text.append(f" · ETL {self.etl}")
        if self.xid:
            text.append(f" · {self.src or '?'} => {self.dst or '?'}")
        if note := cap_note(len(self.errors), self.reported):
            text.append(f"\n{note}", style="dark_orange")
        self.query_one("#caption", Static).update(text)

    @property
    def group(self) -> ErrorGroup | None:
        key = self.group_table.selected_key
        return self.groups.get(key) if key else None

    @property
    def error(self) -> ObjError | None:
        group, key = self.group, self.object_table.selected_key
        if group is None or key is None:
            return None
        return next((e for e in group.errors if e.obj_name == key), None)

    @property
    def error_shown(self) -> ObjError | None:
        """The error the pane shows (and ``l`` and ``v`` act on): the highlighted object's,
        else its group's first."""
        return self.error or (self.group.errors[0] if self.group else None)

    @on(DataTable.RowHighlighted, "#groups")
    def _group_highlighted(self) -> None:
        self._show_objects()

    @on(DataTable.RowHighlighted, "#objects")
    def _object_highlighted(self) -> None:
        self._show_detail()

    def _show_objects(self) -> None:
        group = self.group
        errors = group.errors[:MAX_OBJECTS_SHOWN] if group else []
        self.object_table.sync({e.obj_name: [object_name(e.obj_name), str(e.ecode),
                                             _node(self.where(e)), error_line(e.message)]
                                for e in errors})
        self._show_detail()

    def _show_detail(self) -> None:
        error = self.error_shown
        detail = self.query_one("#detail", Static)
        detail.update(detail_text(error, detail.content_size.width) if error else "")

    # --- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("retry", "retry_all") and not (self.xid and self.src and self.dst):
            return False  # inline errors, or a job whose buckets are unknown
        if action in ("objects", "log", "view_error", "retry") and self.group is None:
            return None  # shown dimmed: there is no group (yet)
        return super().check_action(action, parameters)

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def action_objects(self) -> None:
        """Enter: from the groups to the group's objects (and back). The focused table
        receives the key, and says so by selecting its row."""
        table = self.object_table if self.group_table.has_focus else self.group_table
        table.focus()

    def action_log(self) -> None:
        """The transformer log of the ETL, searched for the object: its lines highlighted,
        the view at the last one."""
        error = self.error_shown
        if error is not None:
            self.app.push_screen(LogsScreen(self.etl, find=object_name(error.obj_name)))

    def action_view_error(self) -> None:
        """The highlighted object's error whole (its pane shows the end of it), to scroll."""
        error = self.error_shown
        if error is not None:
            self.app.push_screen(TextScreen(f"{error.obj_name}  [{error.ecode}]",
                                            error.message))

    def action_retry(self) -> None:
        if self.group is not None:
            self._retry(self.group.errors, " of this group")

    def action_retry_all(self) -> None:
        self._retry(self.errors, "")

    def _retry(self, errors: list[ObjError], which: str) -> None:
        """Transform the failed objects again, into the same destination, as a child job of
        this one (after a yes). ``which``: how the question names them (" of this group")."""
        names = sorted({object_name(e.obj_name) for e in errors})
        if not names:
            return
        record = self.session.jobs.get(self.xid)
        options = dict(record.options) if record else {}
        options.pop("prefix", None)  # (the names are the list)
        pipeline = list(options.pop("pipeline", None) or (record.pipeline if record else ()))
        note = cap_note(len(self.errors), self.reported)
        question = (f"Transform the [b]{len(names):,}[/b] failed objects{which} of "
                    f"ais://{escape(self.src)} again with ETL [b]{escape(self.etl)}[/b] into "
                    f"ais://{escape(self.dst)}?")
        if not record:
            question += "\nThis job was not started here: its options are not known, and " \
                        "the objects keep their names."
        if note:  # (it names targets: t[fVYEJcXn] is no markup)
            question += f"\n{escape(note)}."
        self.app.push_screen(ConfirmScreen(question, "Retry"), lambda ok: self.run_worker(
            self._start_retry(names, options, pipeline), group="mutate") if ok else None)

    async def _start_retry(self, names: list[str], options: dict, pipeline: list[str]) -> None:
        client = self.client
        if client is None:
            return
        try:
            xid = await client.start_list_transform(self.src, self.dst, self.etl, names,
                                                    pipeline=pipeline, **options)
        except AisError as err:
            self.notify(str(err), severity="error", timeout=10)
            return
        if (joined := self.session.jobs.get(xid)) is not None:
            # AIStore adds a list to the same buckets' job still running (idle for a minute
            # after its last list): one job, its counts those of both
            earlier = f"a retry of {joined.parent}" if joined.parent else "an earlier request"
            self.notify(f"AIStore added the {len(names):,} objects to job {xid}, still running "
                        f"from {earlier}: its counts and rates are those of both",
                        severity="warning", timeout=15)
        else:
            self.session.remember_job(xid, self.etl, self.src, self.dst, pipeline=pipeline,
                                      options=options, parent=self.xid)
            self.notify(f"job {xid} retries {len(names):,} objects of job {self.xid}")
        if self.open_job is not None:
            self.open_job(xid)

    def action_export(self) -> None:
        """Every error of the job (not only the filtered groups), to a new file: JSON if
        its name ends in .json, else CSV."""
        errors = list(self.errors)
        about = {"job": self.xid or None, "etl": self.etl, "src": self.src or None,
                 "dst": self.dst or None, "listed": len(errors),
                 # (AIStore lists at most 128 per target; each target counts them all)
                 "failed": max(sum(self.reported.values()), len(errors)),
                 "exported": datetime.now().astimezone().isoformat(timespec="seconds")}

        def render(path: Path) -> str:
            if path.suffix.lower() == ".json":
                return errors_json(errors, self.where, about)
            return errors_csv(errors, self.where)

        self.save_as(f"Export the {len(errors):,} errors (CSV, or JSON for a .json name) to:",
                     f"aisetl-errors-{self.xid or self.etl}.csv", render,
                     f"{len(errors):,} errors")


def detail_text(error: ObjError, width: int = 0, rows: int = DETAIL_ROWS) -> Text:
    """One error, its end as far as it fits in ``rows`` rows of ``width`` (0: not known):
    the object, what went wrong, then the lines before it, the nearest first to stay (a
    traceback ends in the user's code); ``v`` shows it whole."""
    def taken(line: str) -> int:  # rows a line takes, folded at the width
        return max(1, -(-len(line) // width)) if width else 1

    lines = [line for line in error.message.splitlines() if line.strip()]
    telling = error_line(error.message)
    before = lines[:-1] if lines and lines[-1].strip() == telling else lines
    head = f"{error.obj_name}  [{error.ecode}]"
    left = rows - taken(head) - taken(telling)
    if sum(map(taken, before)) > left:
        left -= 1  # (for the row that says more is there)
    shown: list[str] = []
    for line in reversed(before):
        if taken(line) > left:
            break
        shown.insert(0, line)
        left -= taken(line)
    text = Text.assemble((head, "bold"), "\n", (telling, "red"))
    if len(shown) < len(before):
        text.append(f"\n… {len(before) - len(shown)} lines before (v: the whole error)",
                    style="italic")
    if shown:
        text.append("\n" + "\n".join(shown), style="dim")
    return text


def _node(target: str) -> str:
    return f"t[{target}]" if target else "-"


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).strftime("%H:%M:%S") if stamp else ""
