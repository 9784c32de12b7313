from aisetl_tui.widgets.chart import sparkline


def test_sparkline_scales_to_the_top_value() -> None:
    assert sparkline([0, 4, 8], 3, 8) == " ▄█"
    assert sparkline([1, 2], 5, 2) == "   ▄█"  # right-aligned: the newest sample at the edge
    assert sparkline([5, 5, 5, 5], 2, 10) == "▄▄"  # only the last `width` samples
    assert sparkline([3], 4, 0) == "    "  # nothing moved: blank, not a crash
