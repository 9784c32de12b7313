"""Node logs through the official SDK (``GET /v1/reverse/daemon?what=log``): each node logs
what it does, and gives its log by severity, or as a TAR.GZ."""

from __future__ import annotations

import io
import tarfile

from aistore import Client
from aistore.sdk.enums import LogSeverity


def test_each_node_logs_what_it_does(client: Client, bucket) -> None:
    cluster = client.cluster()
    smap = cluster.get_info()
    logs = cluster.get_cluster_logs()
    assert set(logs) == set(smap.tmap)
    for target_id, text in logs.items():
        assert "serving on 127.0.0.1:" in text and f" {target_id} " in text
    proxy_id = smap.proxy_si.daemon_id
    proxy_log = cluster.get_node_log(proxy_id)
    assert f"created bucket ais://{bucket.name}" in proxy_log
    target_id = next(iter(smap.tmap))
    assert "INFO" not in cluster.get_node_log(target_id, severity=LogSeverity.ERROR)
    archive = cluster.get_node_log_archive(target_id)
    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        (member,) = t.getmembers()
        assert b"serving on" in t.extractfile(member).read()


def test_a_node_log_past_its_limit_is_rotated(tmp_path) -> None:
    """A node's log keeps under its limit: past it, the old one becomes <name>.1 and the
    node goes on writing at the start of the same file (it appends)."""
    from backend.local._cluster import rotate_log

    log = tmp_path / "target-x.log"
    with open(log, "ab") as node_output:  # as the supervisor hands it to a node
        node_output.write(b"old line\n" * 1000)
        node_output.flush()
        assert not rotate_log(log, limit=100_000)
        assert rotate_log(log, limit=1000)
        node_output.write(b"new line\n")
        node_output.flush()
    assert (tmp_path / "target-x.log.1").read_bytes() == b"old line\n" * 1000
    assert log.read_bytes() == b"new line\n"
