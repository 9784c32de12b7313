"""The command table: what each typed command means, and what is refused in words."""

from __future__ import annotations

import pytest

from aisetl_tui.screens.commands import COMMANDS, CommandError, completions, parse, visible


def named(text: str, readonly: bool = False) -> tuple[str, list[str]]:
    parsed = parse(text, readonly)
    assert parsed is not None
    return parsed[0].name, parsed[1]


@pytest.mark.parametrize(("typed", "name", "args"), [
    ("buckets", "buckets", []), ("b", "buckets", []), ("B", "buckets", []),
    ("pulses", "overview", []), ("ls images", "objects", ["images"]),
    ("pods md5-etl", "pods", ["md5-etl"]), ("p", "pods", []),
    ("init code manifests/md5/code.py", "init code", ["manifests/md5/code.py"]),
    ("INIT Spec", "init spec", []), ("transform 'my bucket'", "transform", ["my bucket"]),
    ("?", "help", []), ("exit", "quit", []),
])
def test_names_aliases_and_arguments(typed: str, name: str, args: list[str]) -> None:
    assert named(typed) == (name, args)


@pytest.mark.parametrize(("typed", "readonly", "message"), [
    ("objects", False, ":objects needs a bucket: :objects <bucket>"),
    ("init", False, ":init needs one of: :init code [file], :init spec [file]"),
    ("init yaml", False, ":init needs one of: :init code [file], :init spec [file]"),
    ("init", True, ":init changes the cluster, and the app was started with --readonly"),
    ("transform src", True,
     ":transform changes the cluster, and the app was started with --readonly"),
    ("frobnicate now", False, "unknown command 'frobnicate now': press ? for the list"),
    ("buckets images", False, ":buckets takes no arguments, not 'images': :buckets"),
    ("objects a b", False, ":objects takes one bucket, not 'b': :objects <bucket>"),
])
def test_what_cannot_run_is_said(typed: str, readonly: bool, message: str) -> None:
    with pytest.raises(CommandError) as info:
        parse(typed, readonly)
    assert str(info.value) == message


def test_nothing_typed_is_nothing_to_do() -> None:
    assert parse("   ") is None


def test_one_table_feeds_completion_help_and_read_only() -> None:
    assert "objects " in completions() and "buckets" in completions()
    assert len(completions()) == len(COMMANDS)
    shown = {c.name for c in visible(readonly=True)}
    assert {"buckets", "objects", "quit"} <= shown
    assert not shown & {"init code", "init spec", "transform"}
    assert all(named(c.name + (" x" if c.args else ""))[0] == c.name for c in COMMANDS)
