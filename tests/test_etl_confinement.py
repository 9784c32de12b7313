"""What user ETL code gets of its owner (issue: confine user ETL code like a pod): the
environment a container would have, not the shell's that started the cluster, its own
object-access secret never in what its failures say, and a pod's sandbox: its own processes,
an unprivileged user, none of the owner's files, the objects read-only."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import psutil
import pytest

from backend.ais import parse_etl_error
from backend.local import LocalCluster
from backend.local.etl._pod import free_port
from tests.conftest import code_msg, spec_msg, wait_for
from tests.test_etl_tutorial import tutorial_server_with

TARGET_URL_PATH = "/v1/etl/_object/"  # + <etl>/<secret>/<uname>: AIS_TARGET_URL's path
SHOW_ENV = (b"import json, os\n\ndef transform(data):\n"
            b"    return json.dumps(dict(os.environ)).encode()\n")
ECHO_URL = (b"import os\n\ndef transform(data):\n"
            b"    raise ValueError('cannot reach ' + os.environ['AIS_TARGET_URL'])\n")


@pytest.fixture(scope="module")
def owned() -> Iterator[tuple[httpx.Client, Path]]:
    """A cluster started from a shell holding the owner's token and a key of theirs."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIS_AUTHN_TOKEN", "owner-token-do-not-leak")
    mp.setenv("OWNER_CLOUD_KEY", "owner-key-do-not-leak")
    path = Path(tempfile.mkdtemp(prefix="aisetl-confine-"))
    try:
        with LocalCluster(path, targets=1, port=0) as cluster, \
                httpx.Client(base_url=cluster.endpoint, timeout=60, follow_redirects=True,
                             headers={"Authorization": f"Bearer {cluster.token}"}) as http:
            mp.undo()
            http.post("/v1/buckets/b", json={"action": "create-bck"}).raise_for_status()
            http.put("/v1/objects/b/o", content=b"x").raise_for_status()
            yield http, path
    finally:
        mp.undo()
        shutil.rmtree(path, ignore_errors=True)


def test_a_transformer_gets_a_containers_environment(owned) -> None:
    http, _path = owned
    msg = code_msg("show-env", SHOW_ENV, comm="hpush://",
                   env=[{"name": "MY_SETTING", "value": "from the spec"}])
    assert http.put("/v1/etl", json=msg).status_code == 200
    env = json.loads(http.get("/v1/objects/b/o", params={"etl_name": "show-env"}).content)
    assert "AIS_AUTHN_TOKEN" not in env and "OWNER_CLOUD_KEY" not in env
    assert not any("do-not-leak" in v for v in env.values())
    assert env["MY_SETTING"] == "from the spec" and env["AIS_TARGET_URL"] and env["PATH"]


def test_a_failure_never_shows_the_object_access_secret(owned) -> None:
    http, path = owned
    assert http.put("/v1/etl", json=code_msg("echo-url", ECHO_URL, comm="hpush://")
                    ).status_code == 200
    secret = json.loads((path / "proxy" / "etl.json").read_text())["echo-url"]["secret"]
    resp = http.get("/v1/objects/b/o", params={"etl_name": "echo-url"})
    message = resp.json()["message"]
    assert resp.status_code >= 400 and "cannot reach" in message
    assert secret not in message and "<secret>" in message
    details = http.get("/v1/etl/echo-url").json()
    assert secret not in json.dumps(details.get("obj_errors", []))
    wrong = http.get(f"{TARGET_URL_PATH}echo-url/{secret}/ais%2F%40%23%2Fb%2Fmissing")
    assert wrong.status_code >= 400 and secret not in wrong.text
    logs = "".join(p.read_text(errors="replace") for p in (path / "logs").glob("*.log"))
    assert "serving on" in logs and secret not in logs


def test_only_its_targets_report_an_etl_aborted(owned) -> None:
    http, path = owned
    assert http.put("/v1/etl", json=code_msg("keep-running", SHOW_ENV, comm="hpush://")
                    ).status_code == 200
    url = "/v1/etl/keep-running/_aborted"
    body = {"action": "etl-aborted", "value": {"reason": "a stranger says so"}}
    assert http.post(url, json=body).status_code == 403
    stage = {e["id"]: e["stage"] for e in http.get("/v1/etl").json()}["keep-running"]
    assert stage == "Running"
    secret = json.loads((path / "proxy" / "etl.json").read_text())["keep-running"]["secret"]
    body["value"]["secret"] = secret  # what a target of the cluster sends
    assert http.post(url, json=body).status_code == 200
    stage = {e["id"]: e["stage"] for e in http.get("/v1/etl").json()}["keep-running"]
    assert stage == "Aborted"


STEAL = b"""import os, urllib.error, urllib.request

def transform(data):
    url = os.environ["AIS_TARGET_URL"] + "/" + "ais%2F%40%23%2Fother%2Fstolen"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="PUT")):
            return b"put"
    except urllib.error.HTTPError as err:
        return str(err.code).encode() + b" " + err.read()
"""


def test_a_transformer_puts_only_the_object_it_was_asked_for(owned) -> None:
    """Its object access takes a PUT only with the signature its target gives for one
    destination (a direct put): not into another bucket."""
    http, _path = owned
    http.post("/v1/buckets/other", json={"action": "create-bck"}).raise_for_status()
    try:
        assert http.put("/v1/etl", json=code_msg("steal-other", STEAL, comm="hpush://")
                        ).status_code == 200
        answer = http.get("/v1/objects/b/o", params={"etl_name": "steal-other"}).content
        assert answer.startswith(b"403 ") and b"may put only the object" in answer
        assert http.head("/v1/objects/other/stolen").status_code == 404
    finally:
        http.delete("/v1/etl/steal-other")
        http.request("DELETE", "/v1/buckets/other", json={"action": "destroy-bck"})


TELL_AUTH = '''import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok" if self.path == "/health" else \\
            ("auth:" + self.headers.get("Authorization", "none")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''


async def test_the_apps_token_never_reaches_a_transformer(owned, tmp_dir) -> None:
    """With hpull the transformer's answer goes to the client (AIStore redirects it there;
    here the target fetches it, the transformer's network being its own): the app's token
    goes as far as the target, and never to the transformer (user code)."""
    from backend.ais import AisClient
    from backend.local.etl import ImageRegistry

    http, path = owned
    (tmp_dir / "server.py").write_text(TELL_AUTH)
    (tmp_dir / "Dockerfile").write_text("FROM python:3.11-alpine\nWORKDIR /code\n"
                                        "COPY server.py server.py\n")
    ImageRegistry(path).add("docker.io/aisetl-test/tell-auth:v1", tmp_dir)
    spec = """apiVersion: v1
kind: Pod
metadata: {name: tell-auth}
spec:
  containers:
    - name: server
      image: docker.io/aisetl-test/tell-auth:v1
      ports: [{name: default, containerPort: 80}]
      command: ['python3', '/code/server.py', '80']
      readinessProbe: {httpGet: {path: /health, port: default}}
"""
    init = http.put("/v1/etl", json=spec_msg("tell-auth", spec, comm="hpull://"))
    assert init.status_code == 200, init.text
    token = http.headers["Authorization"].split()[1]
    try:
        async with AisClient(str(http.base_url), token=token) as client:
            assert await client.transform_object("b", "o", "tell-auth") == b"auth:none"
    finally:
        http.delete("/v1/etl/tell-auth")


# --- the sandbox ----------------------------------------------------------------------------

PROBE = '''import json, os

def _reads(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False

def _writes(path):
    try:
        with open(path, "wb") as f:
            f.write(b"escaped")
        return True
    except OSError:
        return False

def transform(data):
    return json.dumps({
        "uid": os.getuid(), "pid": os.getpid(),
        "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "reads": {p: _reads(p) for p in READ},
        "writes": {p: _writes(p) for p in WRITE},
        "home": os.environ["HOME"], "home_writable": _writes(os.environ["HOME"] + "/ok"),
    }).encode()
'''


def probe_code(read: list[str], write: list[str]) -> bytes:
    return f"READ = {read!r}\nWRITE = {write!r}\n{PROBE}".encode()


@pytest.fixture
def owner_file() -> Iterator[Path]:
    """A file of the owner's, in their home directory."""
    path = Path.home() / f".aisetl-owner-{secrets.token_hex(4)}"
    path.write_text("the owner's own")
    yield path
    path.unlink(missing_ok=True)


def test_a_transformer_sees_only_what_a_pod_would(owned, owner_file) -> None:
    """Its own processes (an init of ours as PID 1), an unprivileged user when the cluster
    runs as root, none of the owner's files nor the cluster's data (its secrets), the
    target's objects read-only, a private /tmp, and a home of its own."""
    http, path = owned
    objects = next(path.glob("target-*")) / "objects"
    escape = Path(tempfile.gettempdir()) / f"aisetl-escape-{secrets.token_hex(4)}"
    code = probe_code(read=[str(owner_file), str(path / "proxy" / "etl.json"), "/etc/shadow",
                            str(objects / "b" / "o")],
                      write=[str(objects / "b" / "o"), str(objects / "b" / "new"), str(escape)])
    assert http.put("/v1/etl", json=code_msg("probe-pod", code, comm="hpush://")
                    ).status_code == 200
    try:
        seen = json.loads(http.get("/v1/objects/b/o", params={"etl_name": "probe-pod"}).content)
    finally:
        http.delete("/v1/etl/probe-pod")
    if os.geteuid() == 0:
        assert seen["uid"] == 65534
        assert seen["reads"]["/etc/shadow"] is False
    assert seen["pid"] == 2 and seen["procs"] == [1, 2]  # the init, and the transformer
    assert seen["reads"] == {**seen["reads"], str(owner_file): False,
                             str(path / "proxy" / "etl.json"): False,
                             str(objects / "b" / "o"): True}
    assert not any(seen["writes"].values()) and not escape.exists()
    assert http.get("/v1/objects/b/o").content == b"x"  # the object is intact
    assert seen["home_writable"] and seen["home"].startswith(str(path))


NET_PROBE = b"""import json, os, socket
from urllib.parse import urlsplit

LISTENERS = []

def _connects(port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()

def _connects_unix(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()

def transform(data):
    ports = json.loads(data)
    listener = socket.socket()
    listener.bind(("0.0.0.0", ports["bind"]))
    listener.listen()
    LISTENERS.append(listener)
    reached = {name: _connects(port) for name, port in ports["reach"].items()}
    reached["target"] = _connects(urlsplit(os.environ["AIS_TARGET_URL"]).port)
    reached["service_socket"] = _connects_unix(ports["unix"])
    return json.dumps(reached).encode()
"""


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_a_transformers_network_is_its_own(owned) -> None:
    """Only loopback inside: the transformer reaches the targets (``AIS_TARGET_URL``, direct
    put) and nothing else of this machine, not another ETL's transformer (but the next stage
    of a pipeline) nor a service's socket file; nothing of this machine reaches it, not its
    own server (``?etl_fqn=`` a host file) nor what it binds on 0.0.0.0, but through its
    target."""
    http, path = owned
    service = Path("/run") / f"aisetl-test-{secrets.token_hex(4)}.sock"  # a service's socket
    with socket.socket() as server, socket.socket(socket.AF_UNIX) as unix:
        unix.bind(str(service))
        service.chmod(0o777)  # (any user may connect: only not seeing it keeps it out)
        unix.listen()
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        bind = free_port()
        for name, code in (("net-peer", SHOW_ENV), ("net-probe", NET_PROBE)):
            assert http.put("/v1/etl", json=code_msg(name, code, comm="hpush://")
                            ).status_code == 200
        try:
            ports = {"bind": bind, "unix": str(service),
                     "reach": {"server": server.getsockname()[1],
                               "proxy": http.base_url.port,
                               "other_etl": _pod_port(path, "net-peer")}}
            http.put("/v1/objects/b/ports", content=json.dumps(ports)).raise_for_status()
            got = http.get("/v1/objects/b/ports", params={"etl_name": "net-probe"})
            assert got.status_code == 200, got.text
            assert got.json() == {"server": False, "proxy": False, "other_etl": False,
                                  "target": True, "service_socket": False}
            with pytest.raises(BlockingIOError):
                server.accept()
            logs = http.get("/v1/etl/net-probe/logs").json()  # (said to its author)
            assert "reaches only the cluster's targets" in base64.b64decode(logs[0]["logs"]
                                                                            ).decode()
            own = _pod_port(path, "net-probe")
            assert _refused(bind) and _refused(own)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{own}/b/o", params={"etl_fqn": "/etc/hostname"})
        finally:
            for name in ("net-probe", "net-peer"):
                http.delete(f"/v1/etl/{name}")
            http.delete("/v1/objects/b/ports")
            service.unlink(missing_ok=True)


def _pod_port(path: Path, etl: str) -> int:
    """Where the transformer of ``etl`` listens (in its own network)."""
    launcher = int(next(path.glob(f"**/etl/{etl}/pod.pid")).read_text())
    return int(psutil.Process(launcher).environ()["AISETL_PORT"])


KILL_INIT = b"""import os, signal

def transform(data):
    os.kill(1, signal.SIGTERM)
    return data
"""


def test_killing_pid_1_ends_only_that_pod(owned) -> None:
    """As the SDK's pod runtime failure test does: the pod ends (its ETL aborted, saying
    so); the cluster and another ETL go on."""
    http, _path = owned
    for name, code in (("bystander", SHOW_ENV), ("kill-init", KILL_INIT)):
        assert http.put("/v1/etl", json=code_msg(name, code, comm="hpush://")
                        ).status_code == 200
    try:
        http.get("/v1/objects/b/o", params={"etl_name": "kill-init"})  # (may answer first)
        stages = wait_for(lambda: (s := {e["id"]: e for e in http.get("/v1/etl").json()})
                          and s["kill-init"]["stage"] == "Aborted" and s, what="the abort")
        assert stages["bystander"]["stage"] == "Running"
        assert "kill-init-" in http.get("/v1/etl/kill-init").json()["reason"]  # (its pod)
        assert http.get("/v1/objects/b/o", params={"etl_name": "bystander"}).status_code == 200
    finally:
        for name in ("bystander", "kill-init"):
            http.delete(f"/v1/etl/{name}")


def test_a_daemon_it_forks_ends_with_the_pod(owned) -> None:
    http, _path = owned
    marker = f"aisetl-daemon-{secrets.token_hex(4)}"
    code = (f"import subprocess, sys\n\ndef transform(data):\n"
            f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
            f"'{marker}'], start_new_session=True)\n    return data\n").encode()
    assert http.put("/v1/etl", json=code_msg("daemon", code, comm="hpush://")).status_code == 200

    def daemons() -> list[psutil.Process]:
        return [p for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]

    try:
        assert http.get("/v1/objects/b/o", params={"etl_name": "daemon"}).status_code == 200
        assert wait_for(daemons, what="the daemon to start")
    finally:
        http.delete("/v1/etl/daemon")
    wait_for(lambda: not daemons(), what="the daemon to end with its pod")


def test_over_its_memory_limit_a_pod_is_oomkilled(owned, tmp_dir) -> None:
    """The spec's resources.limits.memory holds (a cgroup of its own, as the kubelet makes):
    a transformer that goes past it is OOM-killed, and its ETL's error says so."""
    http, path = owned
    hog = "S.do_PUT = lambda self: (bytearray(b'x') * (512 * 2**20), self.do_POST())\n"
    pod = tutorial_server_with(SimpleNamespace(data_dir=path), tmp_dir, "hog", hog)
    pod = pod.replace("      readinessProbe:", "      resources:\n        limits:\n"
                      "          memory: 64Mi\n      readinessProbe:")
    assert http.put("/v1/etl", json=spec_msg("memory-hog", pod)).status_code == 200
    try:
        assert http.get("/v1/objects/b/o", params={"etl_name": "memory-hog"}).status_code >= 400
        reason = wait_for(lambda: (e := http.get("/v1/etl/memory-hog").json())
                          and e.get("stage") == "Aborted" and e["reason"], what="the abort")
        assert "was OOMKilled (exit code 137): it went over its memory limit of 64 MiB" in reason
        failure = parse_etl_error(reason)  # in AIStore's words, as the app reads them
        assert failure is not None and failure.reason == "OOMKilled"
        assert failure.exit_code == 137 and failure.pod.startswith("memory-hog-")
    finally:
        http.delete("/v1/etl/memory-hog")


def test_limits_that_cannot_be_enforced_are_refused(owned) -> None:
    http, _path = owned
    for limits, words in (({"memory": "lots"}, "memory limit 'lots' is not a Kubernetes"),
                          ({"nvidia.com/gpu": 1}, "resources.limits nvidia.com/gpu: only "
                                                  "memory and cpu are enforced")):
        msg = {"name": "limited", "runtime": {"image": "aistorage/runtime_python:3.11"},
               "resources": {"limits": limits}}
        resp = http.put("/v1/etl", json=msg)
        assert resp.status_code == 400 and words in resp.json()["message"]


BUSY = '''def _busy(self):
    import time
    t0, c0 = time.time(), time.process_time()
    while time.time() - t0 < 1.0:
        pass
    self._set_headers()
    self.wfile.write(str(time.process_time() - c0).encode())

S.do_PUT = _busy
'''


def test_a_cpu_limit_holds(owned, tmp_dir) -> None:
    """A tenth of a core (``cpu: 100m``): a second of spinning gets about 0.1 s of CPU."""
    http, path = owned
    pod = tutorial_server_with(SimpleNamespace(data_dir=path), tmp_dir, "busy", BUSY)
    pod = pod.replace("      readinessProbe:", "      resources:\n        limits:\n"
                      "          cpu: 100m\n      readinessProbe:")
    assert http.put("/v1/etl", json=spec_msg("cpu-bound", pod)).status_code == 200
    try:
        used = float(http.get("/v1/objects/b/o", params={"etl_name": "cpu-bound"}).text)
    finally:
        http.delete("/v1/etl/cpu-bound")
    assert used < 0.3


STUBBORN = """import os, signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)

def _kill_init(self):
    self._set_headers()
    self.wfile.write(b"stopping my pod")
    os.kill(1, signal.SIGTERM)

S.do_PUT = _kill_init
"""


def test_a_pod_that_ignores_its_stop_signal_is_killed_after_a_grace(owned, tmp_dir) -> None:
    """A transformer told to stop (here by its own kill(1)) that ignores it is killed after
    the sandbox's grace, as a container runtime does: its pod still ends."""
    http, path = owned
    pod = tutorial_server_with(SimpleNamespace(data_dir=path), tmp_dir, "stubborn", STUBBORN)
    assert http.put("/v1/etl", json=spec_msg("stubborn", pod)).status_code == 200
    try:
        http.get("/v1/objects/b/o", params={"etl_name": "stubborn"})
        wait_for(lambda: {e["id"]: e["stage"] for e in http.get("/v1/etl").json()}
                 ["stubborn"] == "Aborted", timeout=30, what="the pod to be killed")
        assert "exited with code 137" in http.get("/v1/etl/stubborn").json()["reason"]
    finally:
        http.delete("/v1/etl/stubborn")
