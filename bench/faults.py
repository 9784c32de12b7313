"""The embedded cluster under crashes and load, measured in one run on this machine.

Run with ``python -m bench.faults``. Each phase starts its own cluster (2 targets) in a
temporary directory, run in the background as users run it (``cluster start``).

1. **Kill rounds**: 8 threads PUT objects of 1 to 64 KiB (each with a content derived from its
   name) while one process is SIGKILLed: a target, the proxy, the supervisor (its nodes end
   with it), or the whole process tree; the cluster is started again where it does not restart
   itself. Every PUT that was answered 200 must read back byte for byte. Target: none lost.
2. **A target hosting 10 ETLs, SIGKILLed**: seconds until it answers its health check again
   (the supervisor restarts it); its transformers died with it, so each ETL is then reported
   Aborted, as AIStore reports an ETL whose pod died.
3. **32 clients, mixed load** for 20 s: PUT 4 KiB (25 %), GET (50 %), HEAD (15 %), a listing
   page (10 %), each client on its own kept-alive connection; operations per second and p99,
   printed to compare versions of the cluster (``--mixed-only``), with no target of their own.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil

from backend.ais import code_init_msg
from backend.local import RunInfo, read_token, start_in_background
from bench._table import p99, print_results

MD5 = ("import hashlib\n\ndef transform(data):\n"
       "    return hashlib.md5(data).hexdigest().encode()\n")


def content(name: str) -> bytes:
    size = 1024 + int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) % (63 * 1024)
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@contextmanager
def running(data: Path) -> Iterator[RunInfo]:
    info = start_in_background(data, targets=2, port=0)
    try:
        yield info
    finally:
        stop_tree(data)


def stop_tree(data: Path) -> None:
    """End the cluster on ``data`` (its supervisor, then whatever of its nodes is left)."""
    info = RunInfo.read(data)
    pids = [info.pid, *info.nodes.values()] if info else []
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    psutil.wait_procs([p for pid in pids if (p := _proc(pid))], timeout=30)


def _proc(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def client(info: RunInfo, timeout: float = 30) -> httpx.Client:
    return httpx.Client(base_url=info.endpoint, timeout=timeout, follow_redirects=True,
                        headers={"Authorization": f"Bearer {read_token()}"})


def kill_rounds(workdir: Path, rounds: int) -> dict:
    data = workdir / "kills"
    acked: list[str] = []
    kinds = ["target", "proxy", "supervisor", "tree"]
    info = start_in_background(data, targets=2, port=0)
    with client(info) as http:
        http.post("/v1/buckets/kills", json={"action": "create-bck"}).raise_for_status()
    for round_ in range(rounds):
        kind = kinds[round_ % len(kinds)]
        stop = threading.Event()

        def writer(worker: int, round_: int = round_, stop: threading.Event = stop) -> None:
            info = RunInfo.read(data)
            assert info is not None
            with client(info, timeout=10) as http:
                i = 0
                while not stop.is_set():
                    name = f"r{round_}/w{worker}/{i}"
                    try:
                        if http.put(f"/v1/objects/kills/{name}",
                                    content=content(name)).status_code == 200:
                            acked.append(name)
                    except httpx.HTTPError:
                        pass  # the victim may drop it: not acknowledged
                    i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        info = RunInfo.read(data)
        assert info is not None
        targets = [pid for nid, pid in info.nodes.items() if pid != _proxy_pid(info)]
        victims = {"target": [random.choice(targets)], "proxy": [_proxy_pid(info)],
                   "supervisor": [info.pid], "tree": [info.pid, *info.nodes.values()]}[kind]
        for pid in victims:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(60)
        if kind in ("supervisor", "tree"):  # nothing restarts it: start it again
            psutil.wait_procs([p for pid in info.nodes.values() if (p := _proc(pid))],
                              timeout=30)
        info = start_in_background(data, targets=2, port=0)  # (a running one is reused)
        _wait_healthy(info)
    lost = []
    with client(info) as http:
        for name in acked:
            resp = http.get(f"/v1/objects/kills/{name}")
            if resp.status_code != 200 or resp.content != content(name):
                lost.append(name)
    stop_tree(data)
    return {"rounds": rounds, "acked": len(acked), "lost": len(lost)}


def _proxy_pid(info: RunInfo) -> int:
    with client(info) as http:
        proxy = next(iter(http.get("/v1/daemon", params={"what": "smap"}).json()["pmap"]))
    return info.nodes[proxy]


def _wait_healthy(info: RunInfo, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with client(info, timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if http.get("/v1/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise RuntimeError("the cluster did not come back")


def etl_restart(workdir: Path) -> dict:
    data = workdir / "etls"
    with running(data) as info, client(info, timeout=120) as http:
        smap = http.get("/v1/daemon", params={"what": "smap"}).json()
        victim_id = sorted(smap["tmap"])[0]
        victim_url = smap["tmap"][victim_id]["public_net"]["direct_url"]
        http.post("/v1/buckets/src", json={"action": "create-bck"}).raise_for_status()
        # an object the victim holds: each ETL's inline transform goes through its transformer
        name = next(n for n in (f"o{i}" for i in range(1000))
                    if _held_by(http, n) == httpx.URL(victim_url).netloc)
        http.put(f"/v1/objects/src/{name}", content=b"hello").raise_for_status()
        etls = [f"md5-{i:02}-etl" for i in range(10)]
        for etl in etls:
            http.put("/v1/etl", json=code_init_msg(etl, MD5)).raise_for_status()
        info_now = RunInfo.read(data)
        assert info_now is not None
        os.kill(info_now.nodes[victim_id], signal.SIGKILL)
        killed = time.monotonic()
        healthy = None
        while healthy is None and time.monotonic() - killed < 120:
            try:
                if httpx.get(f"{victim_url}/v1/health", timeout=1).status_code == 200:
                    healthy = time.monotonic() - killed
            except httpx.HTTPError:
                time.sleep(0.02)
        # its transformers died with it: as AIStore does, each of its ETLs is aborted
        time.sleep(2)
        stages = {e["id"]: e.get("stage") for e in http.get("/v1/etl").json() or ()}
        aborted = sum(stages.get(etl) == "Aborted" for etl in etls)
    return {"healthy_s": healthy, "aborted": aborted}


def _held_by(http: httpx.Client, name: str) -> bytes:
    """The host and port of the target the proxy sends ``name``'s requests to."""
    resp = http.put(f"/v1/objects/src/{name}", follow_redirects=False)
    return httpx.URL(resp.headers["location"]).netloc


def mixed_load(workdir: Path, seconds: float, clients: int) -> dict:
    data = workdir / "mixed"
    with running(data) as info:
        with client(info) as http:
            http.post("/v1/buckets/mix", json={"action": "create-bck"}).raise_for_status()
            for i in range(500):
                http.put(f"/v1/objects/mix/seed-{i}", content=b"s" * 4096).raise_for_status()
        latencies: list[float] = []
        errors = [0]
        deadline = time.monotonic() + seconds

        def worker(w: int) -> None:
            rng = random.Random(w)
            mine: list[float] = []
            with client(info) as http:
                i = 0
                while time.monotonic() < deadline:
                    roll = rng.random()
                    start = time.perf_counter()
                    try:
                        if roll < 0.25:
                            resp = http.put(f"/v1/objects/mix/c{w}-{i}", content=b"p" * 4096)
                        elif roll < 0.75:
                            resp = http.get(f"/v1/objects/mix/seed-{rng.randrange(500)}")
                        elif roll < 0.90:
                            resp = http.head(f"/v1/objects/mix/seed-{rng.randrange(500)}")
                        else:
                            resp = http.request("GET", "/v1/buckets/mix", json={
                                "action": "list", "value": {"pagesize": 100, "props": "name"}})
                        if resp.status_code >= 400:
                            errors[0] += 1
                    except httpx.HTTPError:
                        errors[0] += 1
                    mine.append(time.perf_counter() - start)
                    i += 1
            latencies.extend(mine)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
    ms = sorted(x * 1000 for x in latencies)
    return {"ops_s": len(ms) / took, "p50_ms": statistics.median(ms),
            "p99_ms": p99(ms), "errors": errors[0], "ops": len(ms)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="kill rounds")
    parser.add_argument("--seconds", type=float, default=20, help="of mixed load")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--mixed-only", action="store_true",
                        help="only the mixed load (to compare two versions of the cluster)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    try:
        mixed = mixed_load(workdir, args.seconds, args.clients)
        if not args.mixed_only:
            restart = etl_restart(workdir)
            kills = kill_rounds(workdir, args.rounds)
    finally:
        for data in workdir.iterdir():
            stop_tree(data)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"mixed load: {mixed['ops']:,} operations, {mixed['errors']} failed, "
          f"p50 {mixed['p50_ms']:.1f} ms, {mixed['ops_s']:.0f} operations/s, "
          f"p99 {mixed['p99_ms']:.0f} ms")
    if args.mixed_only:
        return 0
    print(f"kill rounds: {kills['acked']:,} PUTs acknowledged")
    print_results([
        (f"kill rounds ({kills['rounds']}: target, proxy, supervisor, whole tree): "
         "acknowledged PUTs lost", str(kills["lost"]), "0", kills["lost"] == 0),
        ("a target hosting 10 ETLs SIGKILLed → answering again",
         f"{restart['healthy_s']:.2f} s", "< 1 s", (restart["healthy_s"] or 99) < 1),
        ("… its ETLs reported Aborted (their transformers died with it, as on AIStore)",
         f"{restart['aborted']} of 10", "10", restart["aborted"] == 10),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
