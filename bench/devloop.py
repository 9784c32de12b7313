"""The developer's loop, measured in one run on this machine, in a real terminal (tmux).

Run with ``python -m bench.devloop``. The embedded cluster runs (2 targets, a bucket of 8
small objects); the app is started on it (``--data``: the embedded cluster, as users run it)
and opens the tutorial's MD5 code with ``:edit``. Each ``ctrl+r`` is timed from the key until
the first sample's row is on screen: the first run inits the ETL, each later one replaces it
(stop, delete, init) and runs the sample again. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from backend.ais import AisClient
from backend.local import LocalCluster
from bench._table import print_results
from bench.app import Terminal

CODE = Path(__file__).resolve().parent.parent / "manifests" / "md5" / "code.py"
BUCKET = "tutorial"
OBJECTS = 8


async def fill(cluster: LocalCluster) -> None:
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await ais.create_bucket(BUCKET)
        for i in range(OBJECTS):
            await ais.put_bytes(BUCKET, f"sample-{i:03}.txt", b"hello world %d\n" % i * 100)


def runs(data: Path, count: int) -> list[float]:
    """Seconds from each ctrl+r to the first sample's row on screen."""
    term = Terminal(f"{sys.executable} -m aisetl_tui.cli --data {data} -c buckets",
                    size=(140, 40))
    try:
        term.wait(lambda s: BUCKET in s and f"{OBJECTS}" in s)
        term.keys(":")
        term.keys(f"edit {CODE}", "Enter")
        term.wait(lambda s: "def transform" in s and f"ais://{BUCKET}" not in s
                  and BUCKET in s)
        times = []
        for number in range(1, count + 1):
            start = term.keys("C-r")
            first = term.wait(lambda s, n=number: f"run {n} ·" in s and "sample-0" in s
                              and "ms" in s, timeout=60)
            times.append(first - start)
            term.wait(lambda s: f"{OBJECTS} ok" in s, timeout=60)
            time.sleep(0.5)
    finally:
        term.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="ctrl+r presses (the first inits)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-devloop-"))
    try:
        with LocalCluster(workdir / "cluster", targets=2, port=0) as cluster:
            asyncio.run(fill(cluster))
            times = runs(workdir / "cluster", args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    first, replacing = times[0], times[1:]
    median = statistics.median(replacing)
    print("each ctrl+r → first sample on screen: " + ", ".join(f"{t:.2f} s" for t in times))
    print_results([
        ("ctrl+r → first sample result, first run (init)", f"{first:.2f} s", "< 2 s",
         first < 2),
        (f"ctrl+r → first sample result, replacing the ETL (median of {len(replacing)}, "
         f"max {max(replacing):.2f} s)", f"{median:.2f} s", "< 2 s", median < 2)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
