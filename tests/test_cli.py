import importlib.metadata
import os
import subprocess
import sys


def test_version_is_the_installed_package_version() -> None:
    out = subprocess.run([sys.executable, "-m", "aisetl_tui.cli", "--version"],
                         capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.strip() == f"aisetl-tui {importlib.metadata.version('aisetl-tui')}"


def test_textual_draws_up_to_240_frames_a_second_unless_the_user_says() -> None:
    """At Textual's default 60, a key pressed just after a frame waited up to 33 ms to show
    (its screen timer, resumed, waits one to two frame periods); a user's setting stays."""
    ask = "import aisetl_tui, textual.constants as c; print(c.MAX_FPS)"
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    for setting, expected in ((None, "240"), ("30", "30")):
        out = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True,
                             check=True, timeout=30,
                             env=env if setting is None else {**env, "TEXTUAL_FPS": setting})
        assert out.stdout.strip() == expected


def test_cluster_options_count_wherever_they_are_given() -> None:
    """Before or after the action's name, or before ``cluster``: an action's own defaults
    once undid ``cluster --data D --targets 3 start`` (started 2 targets in the default
    directory)."""
    from pathlib import Path

    from aisetl_tui.cli import build_parser

    parser = build_parser()
    for argv in (["cluster", "--data", "/d", "--targets", "3", "--no-auth", "start"],
                 ["cluster", "start", "--data", "/d", "--targets", "3", "--no-auth"],
                 ["--data", "/d", "--targets", "3", "cluster", "--no-auth", "start"]):
        args = parser.parse_args(argv)
        assert (args.data, args.targets, args.no_auth) == (Path("/d"), 3, True), argv
    args = parser.parse_args(["cluster", "status"])
    assert (args.data, args.targets, args.port, args.no_auth, args.fsync_put,
            args.promote_root) == (None, 2, None, False, False, None)
    for argv in (["--data", "/d", "image", "ls"], ["image", "ls", "--data", "/d"]):
        assert parser.parse_args(argv).data == Path("/d"), argv
