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


def test_groups_name_their_targets_and_hold_every_error() -> None:
    from aisetl_tui.error_groups import object_name, target_of

    errors = [ObjError(f"ais://src/dir/o{i}", f"t[Tgt{i % 2}]: ETL x: object ais://src/dir/o{i}:"
                       " status 500", 500) for i in range(5)]
    [group] = group_errors(errors, {}, now=1.0)
    assert group.targets == {"Tgt0", "Tgt1"} and group.errors == errors
    assert target_of(errors[1].message) == "Tgt1" and target_of("no node") == ""
    assert object_name("ais://src/dir/o1") == "dir/o1" and object_name("src/o") == "o"


def test_a_capped_list_of_errors_says_how_many_are_missing() -> None:
    from aisetl_tui.error_groups import KEPT_PER_TARGET, cap_note

    assert cap_note(12, {"A": 5, "B": 7}) == ""
    assert cap_note(KEPT_PER_TARGET + 7, {"A": KEPT_PER_TARGET, "B": 7}) == ""  # all listed
    note = cap_note(KEPT_PER_TARGET + 7, {"A": 300, "B": 7})
    assert note.startswith("307 objects failed and 135 are listed")
    assert "t[A] had more" in note and "t[B]" not in note and note.endswith("leaves 172")


def test_errors_export_as_csv_and_json() -> None:
    import csv
    import io
    import json

    from aisetl_tui.error_groups import errors_csv, errors_json

    errors = [ObjError("ais://s/a,b", 't[T1]: ValueError: "quoted"\nline two', 500),
              ObjError("ais://s/c", "TimeoutError: 30s", 504)]
    rows = list(csv.DictReader(io.StringIO(errors_csv(errors))))
    assert [(r["object"], r["ecode"], r["target"], r["message"]) for r in rows] == [
        ("ais://s/a,b", "500", "T1", 't[T1]: ValueError: "quoted"\nline two'),
        ("ais://s/c", "504", "", "TimeoutError: 30s")]
    assert rows[1]["pattern"] == "TimeoutError: <n>s"
    assert [(e["object"], e["message"]) for e in json.loads(errors_json(errors))] == \
        [(e.obj_name, e.message) for e in errors]


def test_an_errors_pane_keeps_the_end_of_its_traceback_and_says_what_it_leaves_out() -> None:
    from aisetl_tui.screens.errors import detail_text

    frames = [f'  File "/x/frame{i}.py", line {i}, in f{i}\n    call_{i}()' for i in range(6)]
    message = "Traceback (most recent call last):\n" + "\n".join(frames) + \
        "\nValueError: bad record at byte 280"
    error = ObjError("ais://src/a", message, 500)
    text = detail_text(error, width=30, rows=9).plain.splitlines()
    assert text[:2] == ["ais://src/a  [500]", "ValueError: bad record at byte 280"]
    assert text[2] == "… 10 lines before (v: the whole error)"  # (of 13: 3 fit)
    assert text[3:] == ["    call_4()", '  File "/x/frame5.py", line 5, in f5', "    call_5()"]
    whole = detail_text(error, width=200, rows=20).plain
    assert "…" not in whole and "Traceback" in whole
