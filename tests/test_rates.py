"""Derived numbers of the job monitor."""

from __future__ import annotations

import pytest

from aisetl_tui.rates import (
    STRAGGLER_WINDOW,
    ZERO,
    Counters,
    ThroughputTracker,
    eta_seconds,
    human_bytes,
    human_duration,
    human_elapsed,
    progress,
    rate,
)


def test_rate_divides_by_measured_time() -> None:
    r = rate(Counters(10, 1000), Counters(30, 5000), 0.5)
    assert r.objs_per_s == 40 and r.bytes_per_s == 8000


def test_counter_reset_counts_from_zero() -> None:
    r = rate(Counters(500, 10_000), Counters(20, 400), 2.0)
    assert r.objs_per_s == 10 and r.bytes_per_s == 200


def test_no_previous_sample_or_no_time() -> None:
    assert rate(None, Counters(5, 5), 1.0).objs_per_s == 0
    assert rate(Counters(1, 1), Counters(5, 5), 0.0).objs_per_s == 0


def test_tracker_handles_targets_coming_and_going() -> None:
    t = ThroughputTracker()
    t.add(10.0, {"a": Counters(0, 0), "b": Counters(0, 0)})
    t.add(11.5, {"a": Counters(15, 1500), "b": Counters(3, 300)})
    assert t.nodes["a"].current.objs_per_s == pytest.approx(10)
    assert t.total().bytes_per_s == pytest.approx(1200)
    t.add(12.5, {"a": Counters(25, 2500), "c": Counters(7, 700)})
    assert t.nodes["b"].current.objs_per_s == 0  # gone: moves nothing
    assert t.nodes["c"].current.objs_per_s == 0  # new: no rate until its second sample
    assert t.nodes["a"].current.objs_per_s == pytest.approx(10)
    t.add(13.5, {"a": Counters(25, 2500), "c": Counters(17, 1700)})
    assert t.nodes["c"].current.objs_per_s == pytest.approx(10)
    assert list(t.nodes["b"].history)[-2:] == [ZERO, ZERO]
    assert [r.objs_per_s for r in t.nodes["c"].history] == [0.0, 10.0]


def test_history_is_bounded() -> None:
    t = ThroughputTracker()
    for i in range(1000):
        t.add(float(i), {"a": Counters(i, i)})
    assert len(t.nodes["a"].history) == 300


def test_progress_and_eta() -> None:
    p = progress([Counters(30, 300), Counters(20, 200)], 200, 2000)
    assert p.fraction == 0.25
    assert eta_seconds(p, 10.0) == 15.0
    assert eta_seconds(p, 0.0) is None
    assert progress([], None, None).fraction is None
    assert progress([Counters(300, 1)], 200, None).fraction == 1.0


def test_human_formats() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 1024 * 1024) == "3.0 MiB"
    assert human_duration(None) == "—"
    assert human_duration(75) == "1m15s"
    assert human_duration(3725) == "1h02m"
    assert human_duration(4.4) == "4s"


def test_human_elapsed_is_finer_below_ten_seconds() -> None:
    assert [human_elapsed(t) for t in (0.0042, 0.037, 3.14, 65)] == \
        ["4.2ms", "37ms", "3.1s", "1m05s"]


def test_a_node_well_below_the_median_for_a_whole_window_is_a_straggler() -> None:
    t = ThroughputTracker()
    for i in range(STRAGGLER_WINDOW + 1):  # a/b at 100 obj/s, c at 30, d at 60
        t.add(float(i), {"a": Counters(100 * i, 0), "b": Counters(100 * i, 0),
                         "c": Counters(30 * i, 0), "d": Counters(60 * i, 0)})
    assert t.stragglers(["a", "b", "c", "d"]) == {"c"}  # median 80: c is below 40, d is not
    assert t.stragglers(["a", "c"]) == {"c"}  # only the running ones count
    assert t.stragglers(["c"]) == set()  # no one to compare with


def test_no_straggler_before_a_full_window() -> None:
    t = ThroughputTracker()
    for i in range(STRAGGLER_WINDOW - 1):
        t.add(float(i), {"a": Counters(100 * i, 0), "b": Counters(i, 0)})
    assert t.stragglers(["a", "b"]) == set()


def test_seconds_per_sample_is_measured() -> None:
    t = ThroughputTracker()
    assert t.seconds_per_sample == 1.0
    for when in (0.0, 1.5, 3.0, 4.5):
        t.add(when, {"a": Counters(0, 0)})
    assert t.seconds_per_sample == 1.5
