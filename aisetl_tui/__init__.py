"""aisetl-tui: a keyboard-driven terminal app for AIStore ETL."""

import os

# Textual's screen timer, resumed after a pause (the app waiting for input), waits one to two
# frame periods before the frame after next: at its default 60 frames a second a key pressed
# just after a frame (a log's new lines, a monitor's poll) waited up to 33 ms to show. At 240 a
# frame still only comes when something changed. Set before Textual loads; the user's wins.
os.environ.setdefault("TEXTUAL_FPS", "240")

__version__ = "0.1.0"
