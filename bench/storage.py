"""Object-storage throughput of the embedded cluster, next to the raw limit of the same disk.

Run with ``python -m bench.storage`` (or ``make bench``); ``--help`` lists the options.

What is measured, in one run, in a fresh temporary directory under ``--dir`` (the cluster's
data and the raw files share that directory, so they share the disk):

Through the cluster (a ``LocalCluster`` with 2 targets), with ``--clients`` concurrent clients
(threads with keep-alive ``http.client`` connections, spread over ``--client-procs``
processes, one per core by default, as the raw threads use every core):

* PUT of ``--small-count`` objects of ``--small-kib`` KiB, then GET of the same objects;
* PUT of ``--large-count`` objects of ``--large-mib`` MiB, then GET of the same objects.

Each request goes to the proxy, which redirects it; the client reads ``Location`` and sends
the request again to the owning target. As the AIStore SDK does, a PUT reaches the proxy
without its body (the proxy only redirects) and the target with the whole body and its
Content-Length. A GET's body is read straight into a buffer, as the raw read does. Every GET
is checked against what was PUT, so a broken cluster cannot post good numbers: byte for byte,
except the large GETs from a warm cache, where a full comparison would cost the client as much
as the transfer itself; those are checked on their length and 65 spread blocks of 16 KiB
(the cold-cache GETs that follow check the same objects byte for byte).

The raw limit, with as many threads as clients, on the same data:

* write + fsync + rename per file: what the targets do for a crash-safe PUT (they also set
  an extended attribute, and write to ``tmp/`` first, as here);
* plain write (open, write, close), without fsync;
* read of the files the fsync'd write has just made, into a buffer. Like the cluster's GETs,
  which follow the PUTs, these reads are served from a warm page cache, not from the device;
* for the large objects, the same files sent by sendfile(2) over loopback TCP and received
  with ``recv_into`` by as many connections, no HTTP: what any server on this machine could
  reach for a GET from a warm page cache (the raw read is one memory copy; a GET over TCP is
  also the network stack on both ends);
* for the large objects, the GET and the read once more with the page cache dropped
  (``posix_fadvise(DONTNEED)`` on every file of both), so that both read the disk.

Each raw phase runs right after its cluster counterpart (the disk's speed drifts over time),
and dirty pages are flushed (``sync``) before every timed phase so that one phase's
write-back does not slow the next one. Throughput is in MB/s (10^6 bytes per second). The
raw numbers are Python doing plain system calls on threads: a limit for this machine, not for
the device. The CPU columns are the seconds of CPU time the phase took in the benchmark
process (client) and in the cluster's proxy and target processes: the cluster and its clients
share the cores. "steal" is the CPU time the hypervisor gave to other guests during the phase,
machine-wide: a phase with much of it ran on a slower machine.

The same cluster phases also run against real AIStore (``aisnode`` of AIStore 5.0, 1 proxy and
2 targets, built by ``make peers``; its mountpaths are directories under the same working
directory), each right after the embedded cluster's.

Targets (printed with PASS or MISS): a large-object GET reaches at least 50 % of the raw read
throughput (judged from the disk, and from memory), and small-object PUTs reach at least 1,000
objects/s; against real AIStore, the embedded cluster's small PUT objects/s and large GET MB/s
(from the disk, and from memory) are at least half of aisnode's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from urllib.parse import quote, urlsplit

from backend.local import LocalCluster, RunInfo
from tests.peers.aisnode import AisCluster
from tests.peers.build import AISNODE

KiB = 1024
MiB = 1024 * KiB
BUCKET = "bench"
STRIDE = 64  # object i is the pool's bytes from i * STRIDE: every object differs
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The cluster answered something other than what a working cluster answers."""


# --- data -------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """``count`` distinct objects of ``size`` bytes, all views into one random pool."""

    label: str
    count: int
    size: int
    pool: bytes = field(repr=False)

    @classmethod
    def random(cls, label: str, count: int, size: int) -> Dataset:
        return cls(label, count, size, os.urandom(size + count * STRIDE))

    def name(self, i: int) -> str:
        return f"{self.label}-{i:06d}"

    def payload(self, i: int) -> memoryview:
        return memoryview(self.pool)[i * STRIDE : i * STRIDE + self.size]


# --- results ----------------------------------------------------------------------------------


@dataclass
class Result:
    phase: str
    count: int
    size: int
    seconds: float
    cpu: dict[str, float]
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def objects_per_s(self) -> float:
        return self.count / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.count * self.size / self.seconds / 1e6

    def to_json(self) -> dict:
        return {**asdict(self), "objects_per_s": self.objects_per_s, "mb_per_s": self.mb_per_s}


@dataclass
class Ratio:
    label: str
    value: float
    unit: str  # "%" or "/s"
    goal: float | None = None

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return ""
        return "PASS" if self.value >= self.goal else "MISS"


class CpuMeter:
    """CPU seconds used by this process and by the cluster's nodes, between two readings, and
    ``steal``: the machine's CPU seconds its hypervisor gave to other guests meanwhile (time
    nothing here could run, a cause of run-to-run spread on a virtual machine)."""

    def __init__(self, nodes: dict[str, list[int]]) -> None:
        self.nodes = nodes  # "proxy" / "targets" -> pids

    def read(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # client processes, once reaped
        out = {"client": time.process_time() + children.ru_utime + children.ru_stime}
        for role, pids in self.nodes.items():
            out[role] = sum(_proc_cpu_seconds(pid) for pid in pids)
        out["steal"] = _steal_seconds()
        return out

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: round(after[k] - before[k], 2) for k in before}


def _proc_cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def _steal_seconds() -> float:
    with open("/proc/stat") as f:
        fields = f.readline().split()  # cpu user nice system idle iowait irq softirq steal ...
    return int(fields[8]) / CLK_TCK if len(fields) > 8 else 0.0


def _percentile_ms(latencies: list[float], pct: int) -> float:
    if len(latencies) < 2:
        return latencies[0] * 1000 if latencies else 0.0
    return statistics.quantiles(latencies, n=100)[pct - 1] * 1000


# --- through the cluster ----------------------------------------------------------------------


class ClusterClient:
    """PUT and GET through the proxy, following its redirect to the owning target by hand,
    over keep-alive ``http.client`` connections (one per node). A GET reads the body straight
    into the caller's buffer (``readinto``), as the raw read does: the client does not copy
    more than it must, so what is measured is the cluster."""

    def __init__(self, endpoint: str) -> None:
        self.proxy = urlsplit(endpoint).netloc
        token = os.environ.get("AIS_AUTHN_TOKEN")
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._conns: dict[str, HTTPConnection] = {}

    def _conn(self, netloc: str) -> HTTPConnection:
        conn = self._conns.get(netloc)
        if conn is None:
            conn = self._conns[netloc] = HTTPConnection(netloc, timeout=300)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _request(self, netloc: str, method: str, path: str, body: bytes | memoryview | None = None,
                 headers: dict[str, str] | None = None) -> HTTPResponse:
        conn = self._conn(netloc)
        auth = self._auth if netloc == self.proxy else {}  # (redirects are signed)
        conn.request(method, path, body=body, headers={**auth, **(headers or {})})
        return conn.getresponse()

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()

    def create_bucket(self, bucket: str) -> None:
        resp = self._request(self.proxy, "POST", f"/v1/buckets/{bucket}",
                             json.dumps({"action": "create-bck"}).encode(),
                             {"Content-Type": "application/json"})
        _expect(resp, 200, f"create bucket {bucket}")

    def _target(self, method: str, bucket: str, name: str) -> tuple[str, str]:
        """(netloc, path) of the owning target, from the proxy's redirect."""
        resp = self._request(self.proxy, method, f"/v1/objects/{bucket}/{quote(name)}",
                             headers={"Content-Length": "0"} if method == "PUT" else None)
        _expect(resp, 307 if method == "PUT" else 301, f"{method} {bucket}/{name} (proxy)")
        location = urlsplit(resp.headers["Location"])
        return location.netloc, f"{location.path}?{location.query}"

    def put(self, bucket: str, name: str, data: memoryview) -> None:
        netloc, path = self._target("PUT", bucket, name)
        # One send for a small object (headers and body in a segment); a large one as is.
        body = bytes(data) if len(data) <= 64 * KiB else data
        resp = self._request(netloc, "PUT", path, body, {"Content-Length": str(len(data))})
        _expect(resp, 200, f"PUT {netloc}{path}")

    def get_into(self, bucket: str, name: str, buf: bytearray) -> int:
        """GET an object into ``buf``; returns its length (fails if it does not fit)."""
        netloc, path = self._target("GET", bucket, name)
        resp = self._request(netloc, "GET", path)
        if resp.status != 200:
            _expect(resp, 200, f"GET {netloc}{path}")
        length = int(resp.headers["Content-Length"])
        if length > len(buf):
            raise BenchError(f"GET {netloc}{path}: {length} bytes, more than the {len(buf)} PUT")
        view, n = memoryview(buf), 0
        while n < length and (got := resp.readinto(view[n:length])):
            n += got
        return n


def _expect(resp: HTTPResponse, status: int, what: str) -> None:
    body = resp.read()
    if resp.status != status:
        text = body[:500].decode(errors="replace")
        raise BenchError(f"{what}: HTTP {resp.status} (expected {status}): {text}")


def run_clients(endpoint: str, clients: int, count: int | range, scratch_size: int,
                op: Callable[[ClusterClient, int, bytearray], None]
                ) -> tuple[float, list[float]]:
    """Run ``op(client, i, scratch)`` for every i (``range(count)``, or the range given) on
    ``clients`` threads, each with its own connections; (seconds, per-op latencies)."""
    indices = iter(range(count) if isinstance(count, int) else count)  # shared by the threads
    latencies: list[float] = []

    def worker() -> None:
        client, scratch = ClusterClient(endpoint), bytearray(scratch_size)
        try:
            for i in indices:
                t0 = time.perf_counter()
                op(client, i, scratch)
                latencies.append(time.perf_counter() - t0)
        finally:
            client.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    return time.perf_counter() - start, latencies


def create_bucket(endpoint: str, bucket: str) -> None:
    client = ClusterClient(endpoint)
    try:
        client.create_bucket(bucket)
    finally:
        client.close()


def same_bytes(got: bytearray, want: memoryview, full: bool) -> bool:
    """Whether a GET returned ``want``: every byte, or (``full`` False, for large objects whose
    full comparison would cost the client as much as the transfer) 16 KiB at 64 evenly spread
    offsets and the last 16 KiB. Objects differ from each other at every offset (each is its own
    window on a random pool), so a wrong, stale or truncated object fails either way."""
    if full or len(want) <= 1 * MiB:
        return got == want  # bytearray == memoryview: a memcmp
    step, block = len(want) // 64, 16 * KiB
    offsets = [*range(0, len(want) - block, step), len(want) - block]
    return all(got[o : o + block] == want[o : o + block] for o in offsets)


def cluster_phase(endpoint: str, verb: str, ds: Dataset, clients: int,
                  indices: range | None = None, verify_all: bool = True
                  ) -> tuple[float, list[float]]:
    """PUT or GET the objects of ``ds`` (all, or ``indices``) with ``clients`` clients;
    (seconds, latencies)."""
    indices = indices if indices is not None else range(ds.count)

    def put(client: ClusterClient, i: int, _scratch: bytearray) -> None:
        client.put(BUCKET, ds.name(i), ds.payload(i))

    def get(client: ClusterClient, i: int, scratch: bytearray) -> None:
        n = client.get_into(BUCKET, ds.name(i), scratch)
        if n != ds.size or not same_bytes(scratch, ds.payload(i), verify_all):
            raise BenchError(f"GET {ds.name(i)}: {n} bytes that differ from the PUT")

    if verb == "PUT":
        return run_clients(endpoint, clients, indices, 0, put)
    return run_clients(endpoint, clients, indices, ds.size, get)


def _phase_part(task: tuple[str, str, Dataset, int, int, int, bool]) -> tuple[float, list[float]]:
    endpoint, verb, ds, clients, part, parts, verify_all = task
    return cluster_phase(endpoint, verb, ds, clients, range(part, ds.count, parts), verify_all)


def cluster_phase_procs(endpoint: str, verb: str, ds: Dataset, clients: int,
                        procs: int, verify_all: bool = True) -> tuple[float, list[float]]:
    """``cluster_phase`` spread over ``procs`` client processes (the clients split evenly),
    so that the client side can use every core, as the raw threads do."""
    if procs <= 1:
        return cluster_phase(endpoint, verb, ds, clients, verify_all=verify_all)
    tasks = [(endpoint, verb, ds, max(1, clients // procs), p, procs, verify_all)
             for p in range(procs)]
    with multiprocessing.get_context("fork").Pool(procs, initializer=pool_worker_init) as pool:
        pool.map(_noop, range(procs))  # the processes exist before the clock starts
        start = time.perf_counter()
        parts = pool.map(_phase_part, tasks, chunksize=1)
        seconds = time.perf_counter() - start
        pool.close()  # the workers finish and exit; leaving the block would kill them
        pool.join()
    return seconds, [lat for _, part in parts for lat in part]


def pool_worker_init() -> None:
    """In a benchmark's pool workers: the parent handles Ctrl-C and cleans up, and SIGTERM
    (``Pool.terminate``) simply ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _noop(_i: int) -> None:
    pass


# --- the raw limit ----------------------------------------------------------------------------


def run_threads(threads: int, count: int, scratch_size: int,
                op: Callable[[int, bytearray], None]) -> float:
    """Run ``op(i, scratch)`` for every i on ``threads`` threads; returns the seconds taken."""
    stop = threading.Event()  # set on failure or Ctrl-C so the other threads end early

    def worker(first: int) -> None:
        scratch = bytearray(scratch_size)
        for i in range(first, count, threads):
            if stop.is_set():
                return
            op(i, scratch)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, t) for t in range(threads)]
        try:
            for f in futures:
                f.result()
        except BaseException:
            stop.set()
            raise
    return time.perf_counter() - start


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


class RawDisk:
    """The same objects as plain files: the limit of this disk, as seen from Python."""

    FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC

    def __init__(self, root: Path) -> None:
        self.synced, self.plain, self.tmp = root / "fsync", root / "plain", root / "tmp"
        for d in (self.synced, self.plain, self.tmp):
            d.mkdir(parents=True)

    def write_fsync_rename(self, ds: Dataset, i: int, _scratch: bytearray) -> None:
        """What a target does for a PUT: write to tmp/, fsync, rename into place."""
        tmp = self.tmp / ds.name(i)
        fd = os.open(tmp, self.FLAGS, 0o644)
        try:
            _write_all(fd, ds.payload(i))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.synced / ds.name(i))

    def write_plain(self, ds: Dataset, i: int, _scratch: bytearray) -> None:
        fd = os.open(self.plain / ds.name(i), self.FLAGS, 0o644)
        try:
            _write_all(fd, ds.payload(i))
        finally:
            os.close(fd)

    def read(self, ds: Dataset, i: int, scratch: bytearray) -> None:
        """Read a file that ``write_fsync_rename`` made, into a buffer."""
        with open(self.synced / ds.name(i), "rb", buffering=0) as f:
            n = f.readinto(scratch)
        if n != ds.size:
            raise BenchError(f"raw read of {ds.name(i)}: {n} bytes, expected {ds.size}")


def loopback_limit(ds: Dataset, files: Path, conns: int) -> float:
    """Send the files by sendfile(2) over loopback TCP and receive them with recv_into, one
    connection per thread, no HTTP and no event loop: the best any server on this machine can
    do for a GET from the page cache. Returns the seconds taken."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=conns)
    port = listener.getsockname()[1]

    def send(_t: int) -> None:
        conn, _ = listener.accept()
        with conn:
            part = conn.recv(1)[0]  # which receiver this is: it expects these objects
            for i in range(part, ds.count, conns):
                fd = os.open(files / ds.name(i), os.O_RDONLY)
                try:
                    offset = 0
                    while offset < ds.size:
                        offset += os.sendfile(conn.fileno(), fd, offset, ds.size - offset)
                finally:
                    os.close(fd)

    def receive(part: int) -> None:
        view = memoryview(bytearray(ds.size))
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(bytes([part]))
            for _ in range(part, ds.count, conns):
                n = 0
                while n < ds.size:
                    got = sock.recv_into(view[n:], ds.size - n)
                    if not got:
                        raise BenchError("loopback: the sender closed early")
                    n += got

    with listener, ThreadPoolExecutor(2 * conns) as pool:
        start = time.perf_counter()
        futures = [pool.submit(send, t) for t in range(conns)]
        futures += [pool.submit(receive, p) for p in range(conns)]
        for f in futures:
            f.result()
        return time.perf_counter() - start


def evict(root: Path) -> None:
    """Drop every file under ``root`` from the page cache (after a sync), so the next reads
    come from the device."""
    os.sync()
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Runner:
    """Runs the phases, each after a ``sync``, and records what they took."""

    clients: int
    client_procs: int
    meter: CpuMeter
    results: list[Result] = field(default_factory=list)

    def cluster(self, endpoint: str, verb: str, ds: Dataset, label: str = "",
                verify_all: bool = True, node: str = "cluster") -> None:
        """A phase through a cluster: the embedded one, or real AIStore (``node="aisnode"``)."""
        os.sync()
        before = self.meter.read()
        seconds, latencies = cluster_phase_procs(endpoint, verb, ds, self.clients,
                                                 self.client_procs, verify_all)
        self._record(f"{node} {label or verb} {ds.label}", ds, seconds, before,
                     _percentile_ms(latencies, 50), _percentile_ms(latencies, 99))

    def raw(self, label: str, ds: Dataset, op: Callable[[Dataset, int, bytearray], None],
            scratch: int) -> None:
        os.sync()
        before = self.meter.read()
        seconds = run_threads(self.clients, ds.count, scratch, lambda i, buf: op(ds, i, buf))
        self._record(f"raw {label} {ds.label}", ds, seconds, before)

    def loopback(self, ds: Dataset, files: Path) -> None:
        os.sync()
        before = self.meter.read()
        seconds = loopback_limit(ds, files, self.clients)
        self._record(f"raw loopback sendfile {ds.label}", ds, seconds, before)

    def _record(self, phase: str, ds: Dataset, seconds: float, before: dict[str, float],
                p50_ms: float | None = None, p99_ms: float | None = None) -> None:
        cpu = self.meter.delta(before, self.meter.read())
        r = Result(phase, ds.count, ds.size, seconds, cpu, p50_ms, p99_ms)
        self.results.append(r)
        print(f"  {r.phase}: {r.objects_per_s:,.0f} objects/s, {r.mb_per_s:,.1f} MB/s "
              f"({r.seconds:.2f} s)", file=sys.stderr, flush=True)


# --- report -----------------------------------------------------------------------------------


def ratios(results: dict[str, Result]) -> list[Ratio]:
    def pct(a: float, b: float) -> float:
        return 100 * a / b

    r = results
    return [
        Ratio("large GET MB/s vs raw read, from the disk (cold cache)",
              pct(r["cluster GET (cold cache) large"].mb_per_s,
                  r["raw read (cold cache) large"].mb_per_s), "%", 50),
        Ratio("large GET MB/s vs raw read, from memory (warm cache)",
              pct(r["cluster GET large"].mb_per_s, r["raw read (warm cache) large"].mb_per_s),
              "%", 50),
        Ratio("large GET MB/s vs loopback TCP sendfile, no HTTP",
              pct(r["cluster GET large"].mb_per_s, r["raw loopback sendfile large"].mb_per_s),
              "%"),
        Ratio("loopback TCP sendfile vs raw read (warm cache)",
              pct(r["raw loopback sendfile large"].mb_per_s,
                  r["raw read (warm cache) large"].mb_per_s), "%"),
        Ratio("small PUT objects/s", r["cluster PUT small"].objects_per_s, "/s", 1000),
        Ratio("small PUT objects/s vs real AIStore (aisnode)",
              pct(r["cluster PUT small"].objects_per_s, r["aisnode PUT small"].objects_per_s),
              "%", 50),
        Ratio("large GET MB/s vs real AIStore, from the disk (cold cache)",
              pct(r["cluster GET (cold cache) large"].mb_per_s,
                  r["aisnode GET (cold cache) large"].mb_per_s), "%", 50),
        Ratio("large GET MB/s vs real AIStore, from memory (warm cache)",
              pct(r["cluster GET large"].mb_per_s, r["aisnode GET large"].mb_per_s), "%", 50),
        Ratio("small GET objects/s vs real AIStore",
              pct(r["cluster GET small"].objects_per_s, r["aisnode GET small"].objects_per_s),
              "%"),
        Ratio("large PUT MB/s vs real AIStore",
              pct(r["cluster PUT large"].mb_per_s, r["aisnode PUT large"].mb_per_s), "%"),
        Ratio("small PUT objects/s vs raw write+fsync+rename",
              pct(r["cluster PUT small"].objects_per_s,
                  r["raw write+fsync+rename small"].objects_per_s), "%"),
        Ratio("small GET objects/s vs raw read",
              pct(r["cluster GET small"].objects_per_s,
                  r["raw read (warm cache) small"].objects_per_s), "%"),
        Ratio("large PUT MB/s vs raw write+fsync+rename",
              pct(r["cluster PUT large"].mb_per_s,
                  r["raw write+fsync+rename large"].mb_per_s), "%"),
        Ratio("large PUT MB/s vs raw write, no fsync",
              pct(r["cluster PUT large"].mb_per_s, r["raw write, no fsync large"].mb_per_s), "%"),
    ]


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n / KiB:g} KiB"


def table(results: list[Result], rows: list[Ratio]) -> str:
    head = (f"{'phase':<34} {'objects':>7} {'size':>7} {'seconds':>8} {'objects/s':>10} "
            f"{'MB/s':>8} {'p50 ms':>7} {'p99 ms':>7}  CPU s client/proxy/targets/steal")
    lines = [head, "-" * len(head)]
    for r in results:
        lat = (f"{r.p50_ms:>7.2f} {r.p99_ms:>7.2f}" if r.p50_ms is not None
               else f"{'':>7} {'':>7}")
        cpu = "/".join(f"{r.cpu[k]:.1f}" for k in ("client", "proxy", "targets", "steal")
                       if k in r.cpu)
        lines.append(f"{r.phase:<34} {r.count:>7} {_size(r.size):>7} {r.seconds:>8.2f} "
                     f"{r.objects_per_s:>10,.0f} {r.mb_per_s:>8,.1f} {lat}  {cpu}")
    lines += ["", f"{'ratio':<56} {'value':>10} {'target':>12}", "-" * 85]
    for q in rows:
        value = f"{q.value:,.1f} %" if q.unit == "%" else f"{q.value:,.0f} /s"
        goal = "" if q.goal is None else (f">= {q.goal:g} %" if q.unit == "%"
                                          else f">= {q.goal:,.0f} /s")
        lines.append(f"{q.label:<56} {value:>10} {goal:>12}  {q.verdict}".rstrip())
    return "\n".join(lines)


def log_problems(data_dir: Path, limit: int = 10) -> list[str]:
    """Lines of the nodes' logs that report warnings, errors or tracebacks."""
    found: list[str] = []
    for log in sorted((data_dir / "logs").glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if any(w in line for w in (" WARNING ", " ERROR ", "Traceback", "Error")):
                found.append(f"{log.name}: {line}")
    return found[:limit] + ([f"... and {len(found) - limit} more"] if len(found) > limit else [])


# --- main -------------------------------------------------------------------------------------


def _terminate(_sig: int, _frame: object) -> None:
    # Raised here, not by re-raising SIGINT: a SIGINT raised inside this handler is not seen
    # by a blocking call it interrupted (a lock, in a pool's worker), which then waits forever.
    raise KeyboardInterrupt


@contextlib.contextmanager
def _aisnode(workdir: Path) -> Iterator[AisCluster]:
    """Real AIStore (aisnode: 1 proxy, 2 targets) on the same disk, from tests/peers."""
    if not AISNODE.path.exists():
        raise BenchError(f"aisnode is not built ({AISNODE.path}): run `make peers` first")
    real = AisCluster(targets=2, parent=workdir).start()
    try:
        yield real
    finally:
        real.stop()


def _node_pids(cluster: LocalCluster) -> dict[str, list[int]]:
    info = RunInfo.read(cluster.data_dir)
    assert info is not None and cluster.smap is not None
    proxy = cluster.smap.proxy.daemon_id
    return {"proxy": [pid for nid, pid in info.nodes.items() if nid == proxy],
            "targets": [pid for nid, pid in info.nodes.items() if nid != proxy]}


def run(args: argparse.Namespace, workdir: Path) -> dict:
    settle(args)
    load_at_start = os.getloadavg()[0]
    datasets = [Dataset.random("small", args.small_count, args.small_kib * KiB),
                Dataset.random("large", args.large_count, args.large_mib * MiB)]
    print(f"working in {workdir}", file=sys.stderr)
    raw = RawDisk(workdir / "raw")
    with LocalCluster(workdir / "cluster", targets=2, port=0) as cluster, \
            _aisnode(workdir) as real:
        ep, real_ep = cluster.endpoint, real.endpoint
        os.environ["AIS_AUTHN_TOKEN"] = cluster.token or ""  # (aisnode runs without AuthN)
        print(f"cluster at {ep}, aisnode (AIStore {AISNODE.version}) at {real_ep}",
              file=sys.stderr)
        runner = Runner(args.clients, args.client_procs, CpuMeter(_node_pids(cluster)))
        try:
            create_bucket(ep, BUCKET)
            create_bucket(real_ep, BUCKET)
            # each cluster phase next to aisnode's and the raw counterpart, in time too
            for ds in datasets:
                runner.cluster(ep, "PUT", ds)
                runner.cluster(real_ep, "PUT", ds, "PUT", node="aisnode")
                runner.raw("write+fsync+rename", ds, raw.write_fsync_rename, 0)
                runner.raw("write, no fsync", ds, raw.write_plain, 0)
                runner.cluster(ep, "GET", ds, verify_all=ds.label != "large")
                runner.cluster(real_ep, "GET", ds, verify_all=ds.label != "large",
                               node="aisnode")
                runner.raw("read (warm cache)", ds, raw.read, ds.size)
                if ds.label == "large":
                    runner.loopback(ds, raw.synced)
                if ds.label == "large":  # the disk itself: page cache dropped on all sides
                    evict(workdir)
                    runner.cluster(ep, "GET", ds, "GET (cold cache)")
                    evict(workdir)
                    runner.cluster(real_ep, "GET", ds, "GET (cold cache)", node="aisnode")
                    evict(workdir)
                    runner.raw("read (cold cache)", ds, raw.read, ds.size)
        except BenchError:
            print("\n".join(log_problems(workdir / "cluster")), file=sys.stderr)
            raise
    problems = log_problems(workdir / "cluster")
    results = runner.results
    by_phase = {r.phase: r for r in results}
    rows = ratios(by_phase)
    print()
    print(f"{args.clients} concurrent clients / threads, 2 targets, {os.cpu_count()} CPUs, "
          f"data under {args.dir}; load average {load_at_start:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end (other work on the machine skews the numbers)")
    print("raw reads and cluster GETs both read objects just written: page cache warm\n")
    print(table(results, rows))
    if problems:
        print("\ncluster log lines with warnings or errors:")
        print("\n".join(f"  {p}" for p in problems))
    return {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cpus": os.cpu_count(),
        "load_average": {"start": load_at_start, "end": os.getloadavg()[0]},
        "results": [r.to_json() for r in results],
        "ratios": [{**asdict(q), "verdict": q.verdict} for q in rows],
        "cluster_log_problems": problems,
    }


def add_settle_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--settle", type=float, default=65, metavar="SECONDS",
                   help="sync, then wait this long before the first phase (default: "
                        "%(default)s): ext4 without a journal (as on the development machine) "
                        "skips, one by one on every file it creates, the inodes freed in the "
                        "last 60 s (300 s while their inode table is not written yet), so "
                        "after many deletions (say, a benchmark's cleanup just before) every "
                        "phase that writes small objects is slowed; 0 to skip")


def settle(args: argparse.Namespace) -> None:
    if args.settle < 0:
        raise BenchError("--settle must be 0 or more")
    if args.settle:
        print(f"settling {args.settle:g} s (see --settle)", file=sys.stderr, flush=True)
        os.sync()
        time.sleep(args.settle)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.storage",
                                description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                   help="where to make the temporary working directory (default: %(default)s)")
    p.add_argument("--clients", type=int, default=8,
                   help="concurrent clients, and raw I/O threads (default: %(default)s)")
    p.add_argument("--client-procs", type=int, default=os.cpu_count() or 1,
                   help="processes the clients are spread over (default: one per core, as "
                        "the raw threads use every core)")
    p.add_argument("--small-count", type=int, default=10_000, help="default: %(default)s")
    p.add_argument("--small-kib", type=int, default=4, help="default: %(default)s")
    p.add_argument("--large-count", type=int, default=64, help="default: %(default)s")
    p.add_argument("--large-mib", type=int, default=16, help="default: %(default)s")
    add_settle_arg(p)
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    if min(args.clients, args.small_count, args.small_kib, args.large_count, args.large_mib) < 1:
        p.error("every count and size must be at least 1")
    return args


def run_main(args: argparse.Namespace, prefix: str,
             run_bench: Callable[[argparse.Namespace, Path], dict]) -> int:
    """Run a benchmark in a fresh working directory that is removed however it ends."""
    # Clean up on Ctrl-C and on kill alike, even when started with SIGINT ignored (``&``).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=args.dir))
    try:
        report = run_bench(args, workdir)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(parse_args(argv), "bench-storage-", run)


if __name__ == "__main__":
    sys.exit(main())
