"""Benchmarks of the embedded cluster (run with ``python -m bench.<name>``)."""

import aisetl_tui  # noqa: F401  (its settings for Textual, made before Textual loads here)
