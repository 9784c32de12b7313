"""A promoted ETL's sample run on the other cluster, side by side with the run here: each
object's output there and here, whether they are the same, and the latencies."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from ..rates import human_bytes
from ..sample_run import SampleResult, SampleRun, latency_text, percentile
from ..widgets.table import KeyedTable
from ._base import AppScreen


def _out(result: SampleResult | None) -> str | Text:
    if result is None:
        return Text("not tried", style="dim")
    return human_bytes(result.out_size) if result.ok else Text("error", style="red")


def _latency(result: SampleResult | None) -> str:
    return latency_text(result.latency if result is not None else None)


def agreement(here: SampleResult | None, there: SampleResult | None) -> Text:
    if here is None or there is None:
        return Text("-", style="dim")
    if here.ok and there.ok:
        same = here.digest == there.digest
        return Text("same" if same else "differs", style="green" if same else "yellow")
    if not here.ok and not there.ok:
        return Text("both fail", style="red")
    return Text("fails there" if here.ok else "fails here", style="bold red")


class PromotedScreen(AppScreen):
    TITLE_TEXT = "promoted"

    def __init__(self, etl: str, where: str, here: SampleRun,
                 there: dict[str, SampleResult], replaced: str) -> None:
        super().__init__()
        self.etl, self.where, self.here, self.there = etl, where, here, there
        self.replaced = replaced

    def title_text(self) -> str:
        return f"promoted · ETL {self.etl} on {self.where}"

    def compose_body(self) -> ComposeResult:
        yield Static(self._summary(), id="promoted-summary")
        yield KeyedTable(["OBJECT", "HERE", "THERE", "OUTPUTS", "HERE LATENCY",
                          "THERE LATENCY"], sort_rows=False,
                         right=["HERE", "THERE", "HERE LATENCY", "THERE LATENCY"],
                         id="promoted")

    def on_mount(self) -> None:
        here = self.here.results
        self.query_one("#promoted", KeyedTable).sync({
            name: [name, _out(here.get(name)), _out(self.there.get(name)),
                   agreement(here.get(name), self.there.get(name)), _latency(here.get(name)),
                   _latency(self.there.get(name))]
            for name in sorted({*here, *self.there})})

    def focus_main(self) -> None:
        self.query_one("#promoted", KeyedTable).focus()

    def _summary(self) -> Text:
        both = [n for n in self.here.results if n in self.there]
        same = sum(1 for n in both if agreement(self.here.results[n], self.there[n]).plain
                   == "same")
        text = Text.assemble(("ETL ", ""), (self.etl, "bold"), f" on {self.where}")
        if self.replaced:
            text.append(f" (it replaced {self.replaced})", style="dim")
        text.append(f"\nthe sample of run {self.here.number} ({self.here.spec.describe()}): "
                    f"{same} of {len(both)} outputs the same here and there")
        if missing := len(self.here.results) - len(both):
            text.append(f"; {missing} not found there", style="yellow")
        mine = sorted(r.latency for r in self.there.values() if r.ok)
        p50, p95 = percentile(mine, .5), percentile(mine, .95)
        if p50 is not None and p95 is not None:
            text.append(f" · there p50 {latency_text(p50)}, p95 {latency_text(p95)}")
        return text
