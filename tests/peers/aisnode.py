"""A real AIStore cluster of aisnode processes on 127.0.0.1, for the `real` test tier.

One proxy and N targets (default 2), each with its own config directory and directories as
mountpaths, configured the way AIStore's local playground (``deploy/dev/local`` in its
repository) writes ``ais.json`` and ``ais_local.json``. The aisnode binary is built by
:mod:`tests.peers.build`. :meth:`AisCluster.stop` ends the nodes by pid and removes the
directory.

Given a real API server (``kube=``), the nodes run "in" Kubernetes, as AIStore's pods do:
each has a Pod object (namespace ``ais``, its node, the target's mountpaths as volumes), the
environment a pod gets (``KUBERNETES_SERVICE_HOST``/``PORT``, ``MY_NODE``, ``MY_POD``,
``K8S_NS``) and a service account's files where client-go's in-cluster configuration reads
them (``/var/run/secrets/kubernetes.io/serviceaccount``, laid there in a mount namespace of its
own; that needs root). The account may do what AIStore's ETL does with pods and services in
``ais``, nothing more.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .build import AISNODE
from .kube_server import KubeApiServer, _end, free_port

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
NS = "ais"
SA_NAME = "ais-node"
# what AIStore's targets do to run ETLs (ext/etl/boot.go, cmn/k8s/client.go)
SA_RULES = [
    {"apiGroups": [""], "resources": ["pods", "services"],
     "verbs": ["get", "list", "watch", "create", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]


def _global_config(primary_url: str) -> dict[str, Any]:
    """What deploy/dev/local/aisnode_config.sh writes into ais.json, with no cloud backend."""
    return {
        "backend": {},
        "timeout": {
            "cplane_operation": "2s", "max_keepalive": "5s", "cold_get_conflict": "5s",
            "max_host_busy": "20s", "startup_time": "1m", "join_startup_time": "3m",
            "send_file_time": "5m", "ec_streams_time": "10m", "object_md": "2h",
        },
        "proxy": {"primary_url": primary_url, "original_url": primary_url,
                  "discovery_url": "", "non_electable": False},
        "space": {"cleanupwm": 65, "lowwm": 75, "highwm": 90, "out_of_space": 95,
                  "batch_size": 32768, "dont_cleanup_time": "120m"},
        "resilver": {"enabled": True},
        "memsys": {"min_free": "2gb", "default_buf": "32kb", "to_gc": "4gb", "hk_time": "3m",
                   "min_pct_total": 0, "min_pct_free": 0},
        "versioning": {"enabled": True, "validate_warm_get": False},
        "net": {
            "l4": {"proto": "tcp", "sndrcv_buf_size": 131072},
            "http": {"use_https": False, "server_crt": "server.crt", "server_key": "server.key",
                     "domain_tls": "", "client_ca_tls": "", "client_auth_tls": 0,
                     "idle_conn_time": "6s", "idle_conns_per_host": 32, "idle_conns": 256,
                     "write_buffer_size": 65536, "read_buffer_size": 65536,
                     "chunked_transfer": True, "skip_verify": False},
            "use_ipv6": False,
        },
        "auth": {},
        "distributed_sort": {
            "duplicated_records": "ignore", "missing_shards": "ignore",
            "ekm_malformed_line": "abort", "ekm_missing_key": "abort",
            "default_max_mem_usage": "80%", "call_timeout": "10m",
            "dsorter_mem_threshold": "100GB", "compression": "never", "bundle_multiplier": 4,
        },
    }


class AisCluster:
    """1 proxy + ``targets`` aisnode targets; ``endpoint`` is the proxy's URL."""

    def __init__(self, targets: int = 2, binary: Path | None = None,
                 parent: Path | None = None, kube: KubeApiServer | None = None) -> None:
        """``parent``: where to make the cluster's directory (mountpaths included);
        ``kube``: run the nodes as pods of this API server (see the module's note)."""
        self.targets = targets
        self.binary = binary or AISNODE.path
        self.dir = Path(tempfile.mkdtemp(prefix="aisetl-aisnode-", dir=parent))
        self.procs: list[subprocess.Popen] = []
        self.port = free_port()
        self.kube = kube

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> AisCluster:
        try:
            if self.kube is not None:
                self._service_account()
            self._start_node(0, "proxy", self.port)
            for i in range(1, self.targets + 1):
                self._start_node(i, "target", free_port())
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_node(self, index: int, role: str, port: int) -> None:
        conf = self.dir / f"node{index}"
        conf.mkdir(parents=True)
        (conf / "ais.json").write_text(json.dumps(_global_config(self.endpoint), indent=1))
        (conf / "ais_local.json").write_text(json.dumps({
            "confdir": str(conf),
            "log_dir": str(conf / "log"),
            "host_net": {
                "hostname": "127.0.0.1", "hostname_intra_control": "",
                "hostname_intra_data": "", "port": str(port),
                "port_intra_control": str(free_port()), "port_intra_data": str(free_port()),
            },
            "fspaths": {},
            "test_fspaths": {"root": str(self.dir / "mp"), "count": 2 if role == "target" else 0,
                             "instance": index},
        }, indent=1))
        args = [str(self.binary), f"-config={conf / 'ais.json'}",
                f"-local_config={conf / 'ais_local.json'}", f"-role={role}"]
        if role == "proxy":
            args.append(f"-ntargets={self.targets}")
        env = None
        if self.kube is not None:
            args, env = self._as_pod(index, role, args)
        self.procs.append(self._spawn(args, conf, env))

    @staticmethod
    def _spawn(args: list[str], conf: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(args, stdout=(conf / "stdout.log").open("ab"),
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)

    # ---- in Kubernetes ----------------------------------------------------------------------

    def _service_account(self) -> None:
        """The nodes' service account, its Role in ``ais``, and its token's files."""
        from kubernetes import client

        with self.kube.api() as api:
            v1, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
            meta = {"name": SA_NAME, "namespace": NS}
            v1.create_namespaced_service_account(NS, {"metadata": meta})
            rbac.create_namespaced_role(NS, {"metadata": meta, "rules": SA_RULES})
            rbac.create_namespaced_role_binding(NS, {
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": SA_NAME},
                "subjects": [{"kind": "ServiceAccount", "name": SA_NAME, "namespace": NS}]})
            token = v1.create_namespaced_service_account_token(
                SA_NAME, NS, {"spec": {"expirationSeconds": 24 * 3600}}).status.token
        files = self.dir / "serviceaccount"
        files.mkdir()
        (files / "token").write_text(token)
        (files / "namespace").write_text(NS)
        shutil.copy(self.kube.ca, files / "ca.crt")

    def _as_pod(self, index: int, role: str, args: list[str]) -> tuple[list[str], dict[str, str]]:
        """Create the node's Pod object; the argv and environment that run it as that pod."""
        pod, node = f"ais-{role}-{index}", f"node-{index}"
        container: dict[str, Any] = {"name": "aisnode", "image": "aistorage/aisnode:v4.0"}
        spec: dict[str, Any] = {"nodeName": node, "containers": [container]}
        if role == "target":  # a transformer pod gets these read-only
            spec["volumes"] = [{"name": "mp", "hostPath": {"path": str(self.dir / "mp")}}]
            container["volumeMounts"] = [{"name": "mp", "mountPath": str(self.dir / "mp")}]
        self.kube.kubectl_apply(
            {"apiVersion": "v1", "kind": "Node",
             "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}}},
            {"apiVersion": "v1", "kind": "Pod", "spec": spec,
             "metadata": {"name": pod, "namespace": NS, "labels": {"app": "ais", "type": role}}})
        env = {**os.environ, "KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(self.kube.port), "MY_NODE": node, "MY_POD": pod,
               "K8S_NS": NS}
        lay = (f'mount -t tmpfs -o size=1m tmpfs /run && mkdir -p {SA_DIR} && '
               f'cp "$0"/* {SA_DIR}/ && exec "$@"')
        wrapped = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", lay,
                   str(self.dir / "serviceaccount"), *args]
        return wrapped, env

    def kill_proxy(self) -> None:
        """The proxy dies (SIGKILL): the cluster is unreachable through its endpoint."""
        self.procs[0].kill()
        self.procs[0].wait(10)

    def restart_proxy(self, timeout: float = 90) -> None:
        """The proxy comes back on its port and config, and the cluster is ready again."""
        self.procs[0] = self._spawn(list(self.procs[0].args), self.dir / "node0")
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"aisnode {proc.args[-1]} exited ({proc.returncode}): "
                                       f"{self.logs()[-3000:]}")
            try:
                r = httpx.get(f"{self.endpoint}/v1/health", params={"prr": "true"}, timeout=2)
                if r.status_code == 200 and len(self.target_ids()) == self.targets:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as e:
                last = str(e)
            time.sleep(0.25)
        raise RuntimeError(f"AIStore not ready in {timeout:.0f} s: {last}\n{self.logs()[-3000:]}")

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def target_ids(self) -> list[str]:
        smap = httpx.get(f"{self.endpoint}/v1/daemon", params={"what": "smap"}, timeout=5).json()
        return sorted((smap.get("tmap") or {}).keys())

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")
                         for p in sorted(self.dir.glob("node*/stdout.log")))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _end(proc)
        shutil.rmtree(self.dir, ignore_errors=True)
