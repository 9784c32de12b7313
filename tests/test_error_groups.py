"""Per-object errors grouped by what they say."""

from aisetl_tui.error_groups import error_pattern, group_errors
from backend.ais import ObjError

TRACEBACK = ("Traceback (most recent call last):\n  File \"/srv/server.py\", line 41, in get\n"
             "TimeoutError: timed out after {n}s reading ais://src/{name}")


def test_a_pattern_masks_names_paths_nodes_and_numbers_but_keeps_words() -> None:
    assert error_pattern(TRACEBACK.format(n=30, name="a.jpg")) == \
        "TimeoutError: timed out after <n>s reading <obj>"
    assert error_pattern("t[CqdzGeyi]: ETL md5: object ais://b/x-01.bin: status 500") == \
        "<node>: ETL md5: object <obj>: status <n>"
    assert error_pattern("open /data/mp1/obj failed: errno 0x1f") == \
        "open <path> failed: errno <n>"
    assert error_pattern("KeyError: 'label'") == "KeyError: <name>"
    assert error_pattern("") == "(no message)"


def test_groups_count_examples_and_first_seen() -> None:
    errors = [ObjError(f"ais://src/o{i}", TRACEBACK.format(n=i % 3 + 1, name=f"o{i}"), 500)
              for i in range(7)]
    errors.insert(2, ObjError("ais://src/bad", "ValueError: size 12 > 10", 400))
    seen = {"ais://src/o5": 100.0}  # seen failing before
    groups = group_errors(errors, seen, now=200.0)
    assert [(g.count, g.pattern) for g in groups] == [
        (7, "TimeoutError: timed out after <n>s reading <obj>"),
        (1, "ValueError: size <n> > <n>")]
    assert groups[0].examples == ["ais://src/o0", "ais://src/o1", "ais://src/o2"]
    assert groups[0].first_seen == 100.0 and groups[1].first_seen == 200.0
    assert groups[0].ecodes == {500} and seen["ais://src/bad"] == 200.0
