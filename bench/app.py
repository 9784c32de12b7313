"""How fast the app feels, measured in one run on this machine, in a real terminal.

Run with ``python -m bench.app``; ``--help`` lists the options. Every measure drives the app
in tmux (a private tmux server with ``escape-time 0``): keys go in with ``send-keys`` and the
pane is read with ``capture-pane`` every few milliseconds, so a time includes everything the
user waits for: the app's work, its rendering, and the terminal.

1. **Launch → buckets table filled**, cluster already running: from starting
   ``aisetl-tui --endpoint URL -c buckets`` until the bucket row shows its object count. Median of
   ``--launches`` starts. Target ≤ 1.0 s.
2. **Opening a 100,000-object bucket**: objects are written into the stopped cluster's
   targets through each target's own object store (placed by HRW, as the cluster places them);
   the cluster is started and has loaded its indexes. From the key that opens the bucket
   (Enter on its row in the buckets table) to the first page on screen; then the app
   process's RSS, after the first page and after paging through every object. Targets: first
   page ≤ 300 ms, memory ≤ 200 MB.
3. **Key → screen while the job monitor updates 32 targets every second**: the monitor runs on
   replayed per-target snapshots of a 32-target job (counters growing on every poll, shaped as
   AIStore reports them) because 32 target processes do not fit on 2 cores. Down and Up move
   the cursor in the per-node table; each key is timed until the pane shows the cursor on the
   new row (read with its colours). Target: p99 ≤ 50 ms. A whole-screen change (``?`` opens
   and closes the help) is printed for reference.
4. **The error workbench on 10,000 errors**: the same replayed job, its ETL holding 10,000
   per-object errors of a few kinds (numbers and names varying, as real ones do). From ``e``
   on the monitor until the workbench shows them grouped. Target ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from backend.ais import AisClient, BucketSummary, ClusterMap, EtlDetails, JobSnap, Node, ObjError
from backend.local import LocalCluster
from backend.local._storage import ObjectStore
from bench._table import p99, print_results

SOCKET = "aisetl-bench"
BUCKET = "big"


class Terminal:
    """One tmux session on a private server, driven through a control-mode client: a key sent
    or the screen read is a line written to it, not a tmux process started. The screen is read
    again only when tmux says the app wrote to it (its ``%output`` notifications), not polled:
    reading it every few milliseconds took CPU of this 2-core machine from the app measured."""

    def __init__(self, command: str, size: tuple[int, int] = (120, 40)) -> None:
        self.name = "bench"
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        self.started = time.perf_counter()
        subprocess.run(["tmux", "-L", SOCKET, "new-session", "-d", "-s", self.name,
                        "-x", str(size[0]), "-y", str(size[1]), command], check=True)
        self._control = subprocess.Popen(["tmux", "-L", SOCKET, "-C", "attach", "-t", self.name],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._read = b""  # read from the control client, not yet taken as lines
        self._answer("attach")  # (the attach is answered as a command too)
        self._tmux("set", "-s", "escape-time", "0")
        self._server = psutil.Process(int(self._tmux("display", "-p", "#{pid}")))
        self._socket = Path(self._tmux("display", "-p", "#{socket_path}").strip())

    def _tmux(self, *args: str) -> str:
        """One tmux command's output."""
        stdin = self._control.stdin
        assert stdin is not None
        line = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args) + "\n"
        stdin.write(line.encode())
        stdin.flush()
        return self._answer(" ".join(args))

    def _line(self, timeout: float | None = None) -> str | None:
        """The control client's next line, or None if none came within ``timeout`` s."""
        stdout = self._control.stdout
        assert stdout is not None
        deadline = None if timeout is None else time.perf_counter() + timeout
        while b"\n" not in self._read:
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left <= 0 or not select.select([stdout], [], [], left)[0]:
                    return None
            chunk = os.read(stdout.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("the tmux control client ended")
            self._read += chunk
        line, self._read = self._read.split(b"\n", 1)
        return line.decode(errors="replace")

    def _answer(self, what: str) -> str:
        """The next command's output: its lines between ``%begin`` and the ``%end`` (or
        ``%error``) with the same time and number (a pane's line may start with ``%end``).
        Notifications before it (the app's output among them) are what it already shows."""
        out: list[str] | None = None
        closing: tuple[str, str] = ("", "")
        while (line := self._line()) is not None:
            if out is None:
                if line.startswith("%begin "):
                    out, stamp = [], " ".join(line.split()[1:3])
                    closing = (f"%end {stamp} ", f"%error {stamp} ")
            elif line.startswith(closing):
                if line.startswith("%error"):
                    raise RuntimeError(f"tmux {what}: {''.join(out)}")
                return "".join(out)
            else:
                out.append(line + "\n")
        raise RuntimeError("the tmux control client ended")

    def screen(self, styled: bool = False) -> str:
        """What the pane shows (``styled``: with its colours, as escape sequences)."""
        return self._tmux("capture-pane", "-p", *(["-e"] if styled else []), "-t", self.name)

    def keys(self, *keys: str) -> float:
        self._tmux("send-keys", "-t", self.name, *keys)
        return time.perf_counter()

    def wait(self, predicate, timeout: float = 30.0, styled: bool = False) -> float:
        """When the screen came to satisfy ``predicate`` (given it as :meth:`screen` reads it)."""
        deadline = time.perf_counter() + timeout
        while not predicate(self.screen(styled)):
            self._await_output(deadline)
        return time.perf_counter()

    def _await_output(self, deadline: float) -> None:
        """Until tmux says the app wrote to the pane: the screen changes only then."""
        while (line := self._line(deadline - time.perf_counter())) is not None:
            if line.startswith("%output "):
                return
        raise RuntimeError(f"the screen never showed what was expected:\n{self.screen()}")

    def app_process(self) -> psutil.Process:
        pane = psutil.Process(int(self._tmux("display", "-p", "-t", self.name,
                                             "#{pane_pid}").strip()))
        return next((p for p in [pane, *pane.children(recursive=True)]
                     if "aisetl_tui" in " ".join(p.cmdline()) or "bench.app" in
                     " ".join(p.cmdline())), pane)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        self._control.communicate(timeout=10)  # (what it still writes read: it can end)
        self._server.wait(timeout=10)  # (a new server on the socket while it ends: refused)
        self._socket.unlink(missing_ok=True)


def fill(cluster_dir: Path, count: int) -> None:
    """Create the bucket with the cluster, then write its objects while it is stopped."""
    with LocalCluster(cluster_dir, targets=2, port=0) as cluster:
        import httpx

        httpx.post(f"{cluster.endpoint}/v1/buckets/{BUCKET}", json={"action": "create-bck"},
                   headers={"Authorization": f"Bearer {cluster.token}"})
        smap = cluster.smap
    stores = {t.daemon_id: ObjectStore(cluster_dir / f"target-{t.daemon_id}")
              for t in smap.targets}
    for i in range(count):
        name = f"train/{i // 1000:03}/sample-{i:06}.jpg"
        stores[smap.owner(BUCKET, name).daemon_id].put_bytes(BUCKET, name, b"x" * 100)
    os.sync()  # PUTs are not fsynced: their writeback must not run into the timed phases


def app_command(endpoint: str) -> str:
    return f"{sys.executable} -m aisetl_tui.cli --endpoint {endpoint} -c buckets"


def launch_and_open(endpoint: str, count: int, launches: int) -> dict:
    shown = f"{count:,}"
    times = []
    for _ in range(launches):
        term = Terminal(app_command(endpoint))
        try:
            times.append(term.wait(lambda s: BUCKET in s and shown in s) - term.started)
        finally:
            term.close()
    term = Terminal(app_command(endpoint))
    try:
        term.wait(lambda s: shown in s)
        time.sleep(0.5)  # the app has settled; the cursor is on the only bucket
        start = term.keys("Enter")
        first_page = term.wait(lambda s: "sample-000000.jpg" in s) - start
        process = term.app_process()
        rss_first = process.memory_info().rss
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            screen = term.screen()
            if f"{count:,} objects listed" in screen and "more below" not in screen:
                break
            term.keys("End")
            time.sleep(0.05)
        rss_all = process.memory_info().rss
    finally:
        term.close()
    return {"launch_s": times, "first_page_s": first_page, "rss_first_mb": rss_first / 2**20,
            "rss_all_mb": rss_all / 2**20}


# --- replayed 32-target job ---------------------------------------------------------------

class ReplayClient:
    """Answers what the job monitor asks with snapshots of a 32-target etl-bck job whose
    counters grow on every poll. A stand-in for a cluster that cannot run here."""

    def __init__(self, targets: int, errors: int = 0) -> None:
        self.targets = [f"t{i:02}Target" for i in range(targets)]
        self.calls = 0
        self.started = datetime.now(UTC)
        kinds = ["ValueError: cannot decode image {i}: truncated at byte {n}",
                 "TimeoutError: transform of ais://big/img-{i}.jpg took {n}s (limit 30s)",
                 "KeyError: 'label-{n}'", "MemoryError: {n} MiB wanted"]
        self.errors = [ObjError(f"ais://big/train/img-{i:06}.jpg",
                                f"Traceback (most recent call last):\n  File \"code.py\", "
                                f"line {i % 90}\n" + kinds[i % len(kinds)].format(i=i, n=i % 997),
                                500) for i in range(errors)]

    async def job_snaps(self, xid: str) -> list[JobSnap]:
        self.calls += 1
        n = self.calls
        return [JobSnap(xid=xid, kind="etl-bck", target_id=t, src="big", dst="big-out",
                        started=self.started, ended=None, loc_objs=n * (100 + i),
                        loc_bytes=n * (100 + i) * 4096, in_objs=0, in_bytes=0,
                        out_objs=n * 7, out_bytes=n * 7 * 4096, aborted=False, err="",
                        idle=False, obj_errors=0) for i, t in enumerate(self.targets)]

    async def bucket_summary(self, name: str, prefix: str = "") -> BucketSummary:
        return BucketSummary(name, 100_000_000, 100_000_000 * 4096)

    async def etl_details(self, name: str, job_id: str = "") -> EtlDetails:
        return EtlDetails(name, {}, "Running", "", self.errors)

    async def cluster_map(self) -> ClusterMap:
        return ClusterMap("replay", "1", "", [], [Node(t, "target", "") for t in self.targets])

    async def list_etls(self) -> list:
        return []

    async def list_buckets(self) -> list:
        return []

    async def aclose(self) -> None:
        pass


class ReplayApp(AisEtlApp):
    def __init__(self, targets: int, errors: int = 0) -> None:
        super().__init__(endpoint="replay", start="buckets")
        self.replay = ReplayClient(targets, errors)

    def connect(self) -> None:  # type: ignore[override]
        self.session.client = self.replay  # type: ignore[assignment]
        self.session.remember_job("replay1", "md5", "big", "big-out")
        self.push_screen(JobMonitorScreen("replay1"))


CURSOR_STYLE = "\x1b[48;5;32m"  # the table cursor's background in the default theme


def cursor_row(screen_with_styles: str) -> str:
    """The first word of the line the table cursor is on."""
    for line in screen_with_styles.splitlines():
        if CURSOR_STYLE in line:
            return re.sub(r"\x1b\[[0-9;]*m", "", line).split()[0]
    return ""


def key_latencies(targets: int, presses: int) -> tuple[list[float], list[float]]:
    """(cursor moves in the per-node table, help screen toggles), in seconds."""
    term = Terminal(f"{sys.executable} -m bench.app --replay-app {targets}", size=(120, 60))
    try:
        term.wait(lambda s: "t00Target" in s and "obj/s  total" in s)
        time.sleep(2.5)  # a few polls in, the chart and table are full

        moves = []
        for i in range(presses):
            key, want = ("Down", "t01Target") if i % 2 == 0 else ("Up", "t00Target")
            start = term.keys(key)
            moves.append(term.wait(lambda s, want=want: cursor_row(s) == want, timeout=10,
                                   styled=True) - start)
            time.sleep(0.03)
        toggles = []
        for i in range(presses // 4):
            start = term.keys("?")
            shown = i % 2 == 0  # "?" opens the help, and closes it
            toggles.append(term.wait(lambda s, shown=shown: ("Keys of this screen" in s)
                                     == shown) - start)
            time.sleep(0.03)
    finally:
        term.close()
    return moves, toggles


def open_errors(targets: int, errors: int, opens: int) -> list[float]:
    """Seconds from ``e`` on the monitor to the workbench showing the errors grouped."""
    term = Terminal(f"{sys.executable} -m bench.app --replay-app {targets} "
                    f"--replay-errors {errors}", size=(120, 40))
    try:
        term.wait(lambda s: "t00Target" in s and "obj/s  total" in s)
        times = []
        for _ in range(opens):
            start = term.keys("e")
            times.append(term.wait(lambda s: f"{errors:,} errors on" in s) - start)
            term.keys("Escape")
            term.wait(lambda s: "obj/s  total" in s)
    finally:
        term.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--targets", type=int, default=32, help="replayed targets")
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--errors", type=int, default=10_000, help="errors for the workbench")
    parser.add_argument("--replay-app", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--replay-errors", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replay_app:
        ReplayApp(args.replay_app, args.replay_errors).run()
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-app-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        fill(workdir / "cluster", args.objects)
        print(f"wrote {args.objects:,} objects in {time.perf_counter() - t0:.0f} s", flush=True)
        with LocalCluster(workdir / "cluster", targets=2, port=0) as cluster:
            import asyncio

            async def warm() -> None:
                async with AisClient(cluster.endpoint, token=cluster.token) as ais:
                    await ais.list_objects(BUCKET, page_size=1)

            asyncio.run(warm())
            opened = launch_and_open(cluster.endpoint, args.objects, args.launches)
        latencies, toggles = key_latencies(args.targets, args.presses)
        workbench = sorted(open_errors(args.targets, args.errors, 5))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lat_ms = sorted(x * 1000 for x in latencies)
    toggle_ms = sorted(x * 1000 for x in toggles)
    lat_p99 = p99(lat_ms)
    launch = statistics.median(opened["launch_s"])
    rows = [
        (f"launch → buckets table filled (median of {len(opened['launch_s'])}, "
         f"min {min(opened['launch_s']):.2f} s)", f"{launch:.2f} s", "<= 1.0 s", launch <= 1),
        (f"open a {args.objects:,}-object bucket → first page on screen",
         f"{opened['first_page_s'] * 1000:.0f} ms", "<= 300 ms", opened["first_page_s"] <= .3),
        ("app RSS after the first page", f"{opened['rss_first_mb']:.0f} MB", "<= 200 MB",
         opened["rss_first_mb"] <= 200),
        (f"app RSS after paging through all {args.objects:,}",
         f"{opened['rss_all_mb']:.0f} MB", "<= 200 MB", opened["rss_all_mb"] <= 200),
        (f"key → screen, cursor in the monitor of {args.targets} targets polling every 1 s "
         f"({len(lat_ms)} keys, p50 {statistics.median(lat_ms):.1f} ms)", f"p99 {lat_p99:.1f} ms",
         "<= 50 ms", lat_p99 <= 50),
        (f"error workbench on {args.errors:,} errors → grouped on screen (median of "
         f"{len(workbench)}, max {workbench[-1] * 1000:.0f} ms)",
         f"{statistics.median(workbench) * 1000:.0f} ms", "<= 300 ms",
         statistics.median(workbench) <= .3),
    ]
    print(f"for reference, a whole-screen change (help on/off, {len(toggle_ms)} keys): "
          f"p50 {statistics.median(toggle_ms):.0f} ms, max {toggle_ms[-1]:.0f} ms")
    print_results(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
