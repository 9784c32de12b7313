"""Benchmarks of the embedded cluster (run with ``python -m bench.<name>``)."""
