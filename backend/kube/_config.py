"""Finding the cluster: kubeconfig or in-cluster service account; the client is imported here.

Precedence ("params > env > defaults"): the ``kubeconfig`` argument, then ``$KUBECONFIG``
(paths joined by ``:``), then ``~/.kube/config``, then the pod's service account when
``$KUBERNETES_SERVICE_HOST`` is set. The namespace: the ``namespace`` argument, then the
context's namespace (or the service account's), then ``default``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import KubeConfigError

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_quieted = False


def quiet_urllib3() -> None:
    """Keep urllib3's log records (e.g. "Retrying ...") off the terminal.

    They go to the ``backend.kube.urllib3`` logger instead, which does not propagate either:
    neither the root logger's handlers nor Python's last-resort stderr handler see them, so
    nothing is written over the TUI. Attach a handler to ``backend.kube.urllib3`` to keep
    them (a log file). Idempotent; the client also runs with retries disabled, so there are
    no "Retrying" records to begin with.
    """
    global _quieted
    if _quieted:
        return
    target = logging.getLogger("backend.kube.urllib3")
    target.addHandler(logging.NullHandler())
    target.propagate = False

    class _Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            target.handle(record)

    source = logging.getLogger("urllib3")
    source.addHandler(_Forward())
    source.propagate = False
    _quieted = True


def import_kubernetes() -> Any:
    """The ``kubernetes`` package, imported on first use (it costs about half a second)."""
    try:
        import kubernetes
        import kubernetes.client
        import kubernetes.config
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise KubeConfigError(f"the kubernetes client is not installed ({e})") from e
    return kubernetes


@dataclass(frozen=True, slots=True)
class Loaded:
    """What :func:`load` found: an ``ApiClient``, its namespace, context and server."""

    api_client: Any
    namespace: str
    context: str | None
    host: str
    source: str  # a kubeconfig path, or "in-cluster"


def _kubeconfig_paths(kubeconfig: str | os.PathLike[str] | None) -> list[str]:
    if kubeconfig is not None:
        return [os.fspath(kubeconfig)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def load(
    *,
    kubeconfig: str | os.PathLike[str] | None = None,
    context: str | None = None,
    namespace: str | None = None,
    connection_pool_maxsize: int = 16,
) -> Loaded:
    """Build a configured ``kubernetes.client.ApiClient``; raise :class:`KubeConfigError`."""
    k8s = import_kubernetes()
    from kubernetes.config.config_exception import ConfigException

    quiet_urllib3()
    cfg = k8s.client.Configuration()
    paths = [p for p in _kubeconfig_paths(kubeconfig) if os.path.isfile(p)]
    try:
        if paths:
            source = os.pathsep.join(paths)
            contexts, current = k8s.config.list_kube_config_contexts(config_file=source)
            names = {c["name"]: c for c in contexts or []}
            chosen = context or (current or {}).get("name")
            if chosen not in names:
                known = ", ".join(sorted(names)) or "none"
                raise KubeConfigError(
                    f"no context {chosen!r} in kubeconfig {source} (contexts: {known})"
                )
            k8s.config.load_kube_config(
                config_file=source, context=chosen, client_configuration=cfg,
                persist_config=False,
            )
            ns = namespace or (names[chosen].get("context") or {}).get("namespace") or "default"
            used_context: str | None = chosen
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            if context:
                raise KubeConfigError(f"context {context!r} given, but there is no kubeconfig")
            k8s.config.load_incluster_config(client_configuration=cfg)
            source, used_context = "in-cluster", None
            ns = namespace or _sa_namespace() or "default"
        else:
            tried = ", ".join(_kubeconfig_paths(kubeconfig))
            raise KubeConfigError(
                f"no kubeconfig: {tried} not found, and not running in a pod "
                "(set KUBECONFIG or pass --context/--namespace with a valid config)"
            )
    except ConfigException as e:
        raise KubeConfigError(f"bad kubeconfig: {e}") from e

    # No urllib3 retries: a failure surfaces at once as one error, with no "Retrying" logs.
    cfg.retries = False
    cfg.connection_pool_maxsize = connection_pool_maxsize
    from kubernetes.utils.keepalive import tcp_keepalive_socket_options

    cfg.socket_options = tcp_keepalive_socket_options()  # a dead peer ends a quiet stream
    api_client = k8s.client.ApiClient(configuration=cfg)
    return Loaded(api_client, ns, used_context, cfg.host, source)


def _sa_namespace() -> str:
    try:
        return (SA_DIR / "namespace").read_text().strip()
    except OSError:
        return ""
