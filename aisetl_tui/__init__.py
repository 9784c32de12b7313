"""aisetl-tui: a keyboard-driven terminal app for AIStore ETL."""

__version__ = "0.1.0"
