"""Log lines merged by time (aisetl_tui.log_lines): the model behind every log view."""

from __future__ import annotations

from datetime import UTC, datetime

from aisetl_tui.log_lines import (
    NOTE,
    SOURCE,
    TEXT,
    WHEN,
    MergedLog,
    line_time,
    mention_pattern,
    search_pattern,
)


def test_times_lines_start_with() -> None:
    utc = datetime(2026, 12, 2, 0, 35, 11, 962000, tzinfo=UTC).timestamp()
    assert line_time("2026-12-02T00:35:11.962000000Z server up") == utc  # Kubernetes'
    assert line_time("2026-12-02T01:35:11.962+01:00 x") == utc
    local = datetime(2026, 12, 2, 0, 35, 11, 962000).timestamp()  # a logger's, local time
    assert line_time("2026-12-02 00:35:11,962 - Md5Server - INFO - up") == local
    assert line_time("Traceback (most recent call last):") is None
    assert line_time("2026-13-45 00:00:00 not a date") is None


def texts(log: MergedLog) -> list[tuple[str, str]]:
    return [(ln[SOURCE], ln[TEXT]) for ln in log.lines]


def test_sources_merge_by_time_and_untimed_lines_stay_with_theirs() -> None:
    log = MergedLog()
    log.add("t1", ["2026-12-02 00:00:01,000 a1", "Traceback: a1's", "2026-12-02 00:00:05,000 a5"],
            read_at=0)
    log.add("t2", ["2026-12-02 00:00:03,000 b3", "  its detail"], read_at=0)
    assert texts(log) == [("t1", "2026-12-02 00:00:01,000 a1"), ("t1", "Traceback: a1's"),
                          ("t2", "2026-12-02 00:00:03,000 b3"), ("t2", "  its detail"),
                          ("t1", "2026-12-02 00:00:05,000 a5")]


def test_a_sources_first_untimed_lines_go_with_its_first_timed_one() -> None:
    """A pod's first lines (the cluster's notes at its start) have no time: they go before
    the pod's first timed line, not at the time the log was read (after every other pod's)."""
    read_at = datetime(2026, 12, 2, 0, 10).timestamp()
    log = MergedLog()
    log.add("t1", ["2026-12-02 00:00:02,000 a2", "2026-12-02 00:00:06,000 a6"], read_at)
    log.add("t2", ["note: network: its own", "2026-12-02 00:00:04,000 b4"], read_at)
    log.add("t3", ["nothing timed at all"], read_at)
    assert texts(log) == [("t1", "2026-12-02 00:00:02,000 a2"), ("t2", "note: network: its own"),
                          ("t2", "2026-12-02 00:00:04,000 b4"),
                          ("t1", "2026-12-02 00:00:06,000 a6"), ("t3", "nothing timed at all")]
    assert log.lines[-1][WHEN] == read_at


def test_what_the_view_may_append_and_when_it_must_redraw() -> None:
    log = MergedLog()
    log.add("t1", ["2026-12-02 00:00:05,000 late"], read_at=0)
    seq, last = log.seq, log.lines[-1]
    log.add("t2", ["2026-12-02 00:00:06,000 later"], read_at=0)
    assert [ln[TEXT] for ln in log.appended_since(last, seq)] == ["2026-12-02 00:00:06,000 later"]
    seq, last = log.seq, log.lines[-1]
    log.add("t2", ["2026-12-02 00:00:01,000 earlier"], read_at=0)
    assert log.appended_since(last, seq) is None  # it went before lines shown: redraw
    assert log.lines[0][TEXT].endswith("earlier")


def test_stamped_lines_lose_their_stamp_and_the_window_is_bounded() -> None:
    log = MergedLog(max_lines=3)
    log.add("pod", [f"2026-12-02T00:00:0{i}.5Z line {i}" for i in range(5)], read_at=0,
            stamped=True)
    assert [ln[TEXT] for ln in log.lines] == ["line 2", "line 3", "line 4"]
    assert log.dropped == 2
    seq, last = log.seq, log.lines[-1]
    log.add("pod", ["2026-12-02T00:00:09Z line 9"], read_at=0, stamped=True)
    assert [ln[TEXT] for ln in log.appended_since(last, seq)] == ["line 9"]  # window moved on
    log.add("pod", [f"2026-12-02T00:00:1{i}Z x" for i in range(4)], read_at=0, stamped=True)
    assert log.appended_since(last, seq) is None  # what was shown last was let go
    log.add("", ["stream ended"], read_at=log.lines[-1][WHEN] + 1, note="dim")
    assert log.lines[-1][NOTE] == "dim" and log.dropped == 8


def test_search_and_only_matching_lines() -> None:
    log = MergedLog()
    log.add("t1", ["GET /a 200", "GET /b 500", "boom: KeyError"], read_at=0)
    log.add("", ["reconnecting"], read_at=1, note="dim")
    pattern = search_pattern("500|error")
    assert [ln[TEXT] for ln in log.shown(pattern, only_matches=True)] == [
        "GET /b 500", "boom: KeyError", "reconnecting"]  # the app's notes stay
    assert len(log.shown(pattern, only_matches=False)) == 4
    assert search_pattern("[").pattern == r"\["  # not a regular expression: the text itself
    assert search_pattern("") is None


def test_an_objects_mentions_are_found_by_its_last_part_not_inside_longer_names() -> None:
    pattern = search_pattern(mention_pattern("data/obj-00047.txt"))
    assert pattern is not None
    found = [t for t in ["transforming /src/data/obj-00047.txt failed: ValueError",
                         "checksum mismatch for object obj-00047.txt: want 3",
                         "failed on obj-00047.txt.",
                         "sub-obj-00047.txt", "obj-00047.txt.bak", "obj-000470.txt"]
             if pattern.search(t)]
    assert found == ["transforming /src/data/obj-00047.txt failed: ValueError",
                     "checksum mismatch for object obj-00047.txt: want 3",
                     "failed on obj-00047.txt."]
