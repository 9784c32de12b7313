"""Pod specs whose container command runs here as a host process: hpull through
``AIS_TARGET_URL``, readiness within ``init_timeout``, and the stages an init goes through."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from pathlib import Path
from urllib.parse import quote

import psutil
from aistore import Client

from backend.local.etl import ImageRegistry
from tests.conftest import spec_msg

IMAGE = "docker.io/aisetl-test/host-server:v1"

SERVER = '''#!/usr/bin/env python
"""hpull server that ignores etl_fqn and reads each object from its target."""
import hashlib, os, sys, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

port, mode = int(sys.argv[1]), sys.argv[2]
if mode == "slow-start":
    time.sleep(1.5)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = unquote(urlsplit(self.path).path[1:])
        if path == "health":
            status, body = (503, b"never") if mode == "never-ready" else (200, b"ok")
        else:
            url = os.environ["AIS_TARGET_URL"] + "/" + quote(path, safe="@")
            with urllib.request.urlopen(url) as resp:
                status, body = 200, hashlib.md5(resp.read()).hexdigest().encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


print("host server up in mode", mode, flush=True)
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''


def pod_spec(mode: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: host-server
spec:
  containers:
    - name: server
      image: {IMAGE}
      ports:
        - name: default
          containerPort: 80
      command: ['/code/server.py', '80', '{mode}']
      readinessProbe:
        httpGet:
          path: /health
          port: default
"""


def add_image(cluster, tmp_dir: Path) -> None:
    (tmp_dir / "server.py").write_text(SERVER)
    (tmp_dir / "server.py").chmod(0o755)
    (tmp_dir / "Dockerfile").write_text("FROM python:3.11-alpine\nWORKDIR /code\n"
                                        "COPY server.py server.py\n")
    ImageRegistry(cluster.data_dir).add(IMAGE, tmp_dir)


def stage(http, name: str) -> str | None:
    return next((e["stage"] for e in http.get("/v1/etl").json() if e["id"] == name), None)


def test_hpull_server_reads_objects_through_ais_target_url(http, client: Client, cluster, bucket,
                                                           tmp_dir, etl_cleanup) -> None:
    add_image(cluster, tmp_dir)
    etl_cleanup.append("fetch-md5")
    resp = http.put("/v1/etl", json=spec_msg("fetch-md5", pod_spec("fetch"), comm="hpull://"))
    assert resp.status_code == 200, resp.text
    names = ["plain", "dir/with space", "hash#and?query&amp", "ünï"]
    for name in names:
        bucket.object(name).get_writer().put_content(name.encode() * 100)
    for name in names:  # inline: the client follows the redirect to the transformer
        got = http.get(f"/v1/objects/{bucket.name}/{quote(name)}", params={"etl_name": "fetch-md5"})
        assert got.status_code == 200, got.text
        assert got.text == hashlib.md5(name.encode() * 100).hexdigest()
    dst = client.bucket(bucket.name + "-fetched")
    job = client.job(bucket.transform(etl_name="fetch-md5", to_bck=dst))
    assert job.wait(timeout=60, verbose=False).success
    for name in names:  # offline: the target GETs from the transformer, which GETs from it
        assert dst.object(name).get_reader().read_all() == \
            hashlib.md5(name.encode() * 100).hexdigest().encode()
    dst.delete(missing_ok=True)


def test_a_server_that_never_gets_ready_fails_at_init_timeout(http, cluster, tmp_dir,
                                                              etl_cleanup) -> None:
    add_image(cluster, tmp_dir)
    etl_cleanup.append("never-ready")
    start = time.monotonic()
    resp = http.put("/v1/etl", json=spec_msg("never-ready", pod_spec("never-ready"),
                                             init_timeout="2s"))
    assert 2 <= time.monotonic() - start < 15
    assert resp.status_code == 400
    message = resp.json()["message"]
    assert "did not become ready within 2s" in message
    assert "GET /health returned 503" in message
    assert "host server up in mode never-ready" in message  # its log's last lines
    assert stage(http, "never-ready") == "Aborted"
    assert not [h for h in http.get("/v1/etl/never-ready/health").json() if h.get("pid")]
    assert not [p for p in psutil.process_iter(["cmdline"])
                if (p.info["cmdline"] or [""])[-1] == "never-ready"]  # the server's last arg


def test_stages_initializing_then_running(http, cluster, tmp_dir, etl_cleanup) -> None:
    add_image(cluster, tmp_dir)
    etl_cleanup.append("slow-start")
    result: dict = {}
    init = threading.Thread(target=lambda: result.setdefault(
        "resp", http.put("/v1/etl", json=spec_msg("slow-start", pod_spec("slow-start")))))
    init.start()
    seen: list[str] = []
    while init.is_alive():
        seen.append(stage(http, "slow-start"))
        time.sleep(0.05)
    init.join()
    assert result["resp"].status_code == 200, result["resp"].text
    # Initializing while the server starts; Running, if seen before the init's answer arrives,
    # only at the very end (the stage changes a moment before the answer goes out)
    seen = list(itertools.dropwhile(lambda s: s is None, seen))  # not registered yet
    changes = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert changes in (["Initializing"], ["Initializing", "Running"]), seen
    assert seen.count("Initializing") >= 2  # the server takes a while: seen for a while
    assert stage(http, "slow-start") == "Running"
