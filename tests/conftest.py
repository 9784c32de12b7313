"""Fixtures: a real embedded cluster (real processes, real HTTP, real files) and SDK clients."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aistore import Client

from backend.local import LocalCluster


@pytest.fixture
def tmp_dir() -> Iterator[Path]:
    """A temporary directory that is removed after the test, whatever happens."""
    path = Path(tempfile.mkdtemp(prefix="aisetl-test-"))
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
