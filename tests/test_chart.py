"""The job monitor's stacked rate chart: its arithmetic and what it draws."""

from rich.segment import Segment
from textual.geometry import Size

from aisetl_tui.widgets.chart import ChartData, RateChart, nice_top, stack_cell, y_labels


def test_nice_top_rounds_up_to_a_readable_scale() -> None:
    assert [nice_top(v) for v in (0, 0.3, 1, 57, 101, 2400, 7100)] == \
        [1.0, 0.5, 1.0, 100, 200, 2500, 10_000]


def test_a_cell_shows_the_band_at_its_bottom_and_the_one_above_it() -> None:
    bounds = [10.0, 30.0, 35.0]  # three nodes stacked: 10, 20 and 5
    assert stack_cell(bounds, 0, 10) == (0, None, 8)  # node 0 fills the cell
    assert stack_cell(bounds, 10, 20) == (1, None, 8)
    assert stack_cell(bounds, 20, 40) == (1, 2, 4)  # node 1 half, node 2 above it
    assert stack_cell(bounds, 30, 40) == (2, None, 4)  # the top of the stack, half full
    assert stack_cell(bounds, 40, 50) == (-1, None, 0)  # above everything
    # a band too thin to draw gives way to the one above it
    assert stack_cell([0.1, 10.0], 0, 10) == (1, None, 8)
    assert stack_cell([], 0, 1) == (-1, None, 0)


def test_y_labels_are_quarters_of_the_top_or_halves_when_short() -> None:
    assert y_labels(20, 100) == {0: 100, 5: 75, 10: 50, 15: 25}
    assert y_labels(6, 50) == {0: 50, 3: 25}


def lines_of(chart: RateChart, width: int, height: int) -> list[str]:
    return ["".join(seg.text for seg in strip if isinstance(seg, Segment))
            for strip in chart._build(Size(width, height))]


def test_the_chart_stacks_nodes_under_labelled_axes() -> None:
    chart = RateChart()
    # two nodes, 40 samples a second apart; the second node stops halfway
    chart._data = ChartData({"t1": [20.0] * 40, "t2": [30.0] * 20 + [0.0] * 20}, "obj/s", 1.0)
    chart._legend = [("total 20", ""), ("t1 20", "#ffffff"), ("t2 0", "#000000")]
    lines = lines_of(chart, 60, 12)
    assert lines[0].split() == ["obj/s", "total", "20", "■", "t1", "20", "■", "t2", "0"]
    plot, axis = lines[1:-1], lines[-1]
    assert plot[0].startswith("    50 ┤")  # 20 + 30 at most: the scale tops at 50
    assert [line[:8] for line in plot].count("       │") == len(plot) - 4  # quarters labelled
    assert axis.startswith("     0 └") and axis.endswith("now")
    assert "-15s" in axis and "-30s" in axis and "-45s" not in axis  # only where data is
    # the last 20 seconds: only t1, 20 of 50 → the lower 40% of the plot; before: all of it
    bars = [line[8:] for line in plot]
    assert bars[0][-1] == " " and bars[-1][-1] == "█"
    assert bars[0][-40] == "█" and bars[0][-41] == " "  # 40 samples, right-aligned at now


def test_a_chart_without_data_draws_axes_only() -> None:
    chart = RateChart()
    lines = lines_of(chart, 30, 6)
    assert len(lines) == 6 and lines[-1].endswith("now")
    assert all(set(line[8:]) <= {" "} for line in lines[1:-1])


def test_axis_numbers_are_short_and_a_small_axis_keeps_its_quarters() -> None:
    from aisetl_tui.widgets.chart import short_number

    assert [short_number(v) for v in (0.25, 0.5, 0.75, 1, 2.5, 950, 1200, 35_000, 2.5e6)] == \
        ["0.25", "0.5", "0.75", "1", "2.5", "950", "1.2k", "35k", "2.5M"]  # (0.25 was "0.2")
