"""Fixtures: a real embedded cluster (real processes, real HTTP, real files) and SDK clients."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aistore import Client

from backend.kube import KubeClient
from backend.local import LocalCluster
from backend.local._auth import ensure_token
from tests.fake_kube import FakeKubeApi
from tests.peers.fixtures import ais_cli, real_ais, real_kube  # noqa: F401 (fixtures)

_CONFIG_HOME = Path(tempfile.mkdtemp(prefix="aisetl-config-"))


def pytest_configure(config: pytest.Config) -> None:
    """The tests' own user configuration and state (not the user's who runs them), with the embedded
    cluster's token made in it and given as ``AIS_AUTHN_TOKEN``: the SDK, the ais CLI and
    the app find it there, as a user's shell would after ``eval "$(aisetl-tui cluster
    env)"``. Tests of how the app finds the token by itself take it out."""
    os.environ["XDG_CONFIG_HOME"] = str(_CONFIG_HOME)
    os.environ["XDG_STATE_HOME"] = str(_CONFIG_HOME / "state")  # (job reports kept)
    os.environ["AIS_AUTHN_TOKEN"] = ensure_token()


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CONFIG_HOME, ignore_errors=True)


def auth_headers() -> dict[str, str]:
    """What a plain HTTP client sends to be the cluster's owner."""
    return {"Authorization": f"Bearer {os.environ['AIS_AUTHN_TOKEN']}"}


@pytest.fixture
def tmp_dir() -> Iterator[Path]:
    """A temporary directory that is removed after the test, whatever happens; readable by
    others, as a project directory is (a sandboxed transformer runs as nobody)."""
    path = Path(tempfile.mkdtemp(prefix="aisetl-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """One 2-target cluster shared by the tests that only need buckets and objects."""
    path = Path(tempfile.mkdtemp(prefix="aisetl-cluster-"))
    try:
        with LocalCluster(path, targets=2, port=0) as c:
            yield c
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def client(cluster: LocalCluster) -> Client:
    return Client(cluster.endpoint)


@pytest.fixture
def bucket(client: Client):
    """A fresh bucket, destroyed after the test."""
    bck = client.bucket(f"test-{secrets.token_hex(4)}")
    bck.create()
    yield bck
    bck.delete(missing_ok=True)


REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "manifests"
TUTORIAL = Path(__file__).resolve().parent / "data" / "tutorial"


@pytest.fixture(scope="session")
def http(cluster: LocalCluster):
    """A plain HTTP client of the cluster, for the requests the SDK no longer makes."""
    import httpx

    with httpx.Client(base_url=cluster.endpoint, timeout=120, follow_redirects=True,
                      headers=auth_headers()) as c:
        yield c


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """``predicate()``'s first truthy result, asked every 0.1 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def code_msg(name: str, code: bytes, comm: str = "hpull://", func: str = "transform",
             runtime: str = "python3.11v2", **extra) -> dict:
    """What ``ais etl init code`` sends (the legacy InitCodeMsg)."""
    import base64

    msg = {"name": name, "runtime": runtime, "communication": comm,
           "funcs": {"transform": func}, "code": base64.b64encode(code).decode()}
    return {**msg, **extra}


def spec_msg(name: str, pod_yaml: str, comm: str = "hpush://", **extra) -> dict:
    """What ``ais etl init spec`` sends (the InitSpecMsg: a base64 Pod YAML)."""
    import base64

    return {"name": name, "communication": comm, "spec": base64.b64encode(pod_yaml.encode())
            .decode(), **extra}


def make_wheel(directory: Path) -> Path:
    """A tiny pure-Python wheel, so installing a dependency needs no network."""
    wheel = directory / "tinydep-1.0-py3-none-any.whl"
    files = {
        "tinydep/__init__.py": "def shout(data):\n    return data.upper() + b'!'\n",
        "tinydep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
        "tinydep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\n"
                                       "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files["tinydep-1.0.dist-info/RECORD"] = "".join(f"{name},,\n" for name in files) + \
        "tinydep-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


@pytest.fixture
def etl_cleanup(http):
    """Names appended here are stopped and deleted after the test."""
    names: list[str] = []
    yield names
    for name in names:
        http.delete(f"/v1/etl/{name}")


@pytest.fixture
def fake() -> Iterator[FakeKubeApi]:
    """The fake Kubernetes API server (no real one can run here), ended with the test."""
    server = FakeKubeApi().start()
    try:
        yield server
    finally:
        server.stop()
    leftover = [t.name for t in threading.enumerate()
                if t.name.startswith("kube-stream-stopper")]
    assert not leftover, "a stream was left running"


@pytest.fixture
def kube(fake: FakeKubeApi, tmp_path: Path) -> Iterator[KubeClient]:
    client = KubeClient(kubeconfig=fake.kubeconfig(tmp_path / "kubeconfig"), timeout=5)
    try:
        yield client
    finally:
        client.close()
