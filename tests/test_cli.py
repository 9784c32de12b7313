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
