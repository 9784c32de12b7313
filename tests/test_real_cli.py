"""The REAL ``ais`` CLI (AIStore 5.0, tests/peers) against the embedded cluster: the
tutorial's commands as a user types them today, each succeeding and printing what it prints
against real AIStore. Where real aisnode can run the same command (everything but ETL), the
output is compared with aisnode's, line by line, after masking ids and times."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest

from backend.local import LocalCluster, default_token_path
from backend.local.etl import ImageRegistry
from tests.conftest import MANIFESTS
from tests.peers.aisnode import AisCluster

pytestmark = pytest.mark.real

SHARD = b"some text :)\n"
SHARD_MD5 = hashlib.md5(SHARD).hexdigest()


class Ais:
    """Runs the ``ais`` CLI with its own HOME (its config) against one endpoint."""

    def __init__(self, binary: Path, endpoint: str, home: Path) -> None:
        self.binary, self.home = binary, home
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home),
                    "AIS_ENDPOINT": endpoint, "NO_COLOR": "1", "TERM": "dumb",
                    # the embedded cluster's token file, as the ais CLI reads a token file
                    "AIS_AUTHN_TOKEN_FILE": str(default_token_path())}

    def __call__(self, *args: str, input: bytes | None = None, ok: bool = True,
                 timeout: float = 120) -> str:
        proc = subprocess.run([str(self.binary), *args], env=self.env, input=input,
                              capture_output=True, timeout=timeout, cwd=self.home)
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        if ok:
            assert proc.returncode == 0, f"ais {' '.join(args)} failed ({proc.returncode}): {out}"
        return out


@pytest.fixture
def ais(ais_cli: Path, cluster: LocalCluster, tmp_path: Path) -> Ais:
    (tmp_path / "home").mkdir()
    return Ais(ais_cli, cluster.endpoint, tmp_path / "home")


def _masked(text: str) -> list[str]:
    """Lines with what differs run to run (ids, times, sizes of metadata) masked."""
    text = re.sub(r"\b[A-Za-z0-9_-]{9,12}\b(?=\s|$|\])", "<id>", text)
    text = re.sub(r"\d{2}:\d{2}:\d{2}(\.\d+)?", "<time>", text)
    text = re.sub(r"\d+(\.\d+)?(ms|s|µs)\b", "<duration>", text)
    return [re.sub(r"\s+", " ", line).strip() for line in text.strip().splitlines()]


def test_tutorial_commands_on_the_embedded_cluster(ais: Ais, cluster: LocalCluster,
                                                   tmp_path: Path) -> None:
    ImageRegistry(cluster.data_dir).add("docker.io/aistore/md5_server:v1", MANIFESTS / "md5")
    src, dst = f"transform-{secrets.token_hex(3)}", f"transform-md5-{secrets.token_hex(3)}"
    etl = "transformer-md5"
    assert f'"ais://{src}" created' in ais("create", f"ais://{src}")
    out = ais("put", "-", f"ais://{src}/shard.in", input=SHARD)
    assert f"PUT (standard input) => ais://{src}/shard.in" in out
    listing = ais("ls", f"ais://{src}")
    assert re.search(r"^shard\.in\s+13B\s", listing, re.M), listing

    try:
        out = ais("etl", "init", "-f", str(MANIFESTS / "md5" / "etl_spec.yaml"))
        assert f"ETL[{etl}]" in out or etl in out, out
        show = ais("etl", "show")
        assert re.search(rf"^{etl}\s+Running\s", show, re.M), show
        assert ais("etl", "object", etl, f"ais://{src}/shard.in", "-").strip() == SHARD_MD5
        out = ais("etl", "bucket", etl, f"ais://{src}", f"ais://{dst}", "--wait")
        assert re.search(rf"etl-bucket\[[\w-]+\] ais://{src} => ais://{dst}", out), out
        assert re.search(r"^shard\.in\s+32B\s", ais("ls", f"ais://{dst}"), re.M)
        assert ais("get", f"ais://{dst}/shard.in", "-").strip() == SHARD_MD5
        logs = ais("etl", "view-logs", etl)
        assert all(f"{t.daemon_id}:" in logs for t in cluster.smap.targets), logs
        assert "GET /health" in logs
        running = ais("show", "job")  # a running ETL's inline xaction, idle between objects
        assert re.search(rf"^etl-inline\[etl-[\w-]+\] \(ctl: etl: {etl}\)", running, re.M)
        assert re.search(r"\setl-inline\s+1\s+32B\s.*Idle", running), running
        jobs = ais("show", "job", "--all")
        assert re.search(rf"\setl-bck\s+ais://{src}\s+ais://{dst}\s+.*Finished", jobs), jobs
        assert "ETL[transformer-md5] stopped" in ais("etl", "stop", etl)
        assert re.search(rf"^{etl}\s+Aborted\s", ais("etl", "show"), re.M)
        assert ais("etl", "show", "errors", etl).split() == ["OBJECT", "ECODE", "ERROR"]
    finally:
        ais("etl", "rm", etl, ok=False)  # "ETL[transformer-md5] successfully deleted"
        ais("rmb", "-y", f"ais://{src}", f"ais://{dst}", ok=False)


def test_cli_prints_the_same_on_both(ais_cli: Path, cluster: LocalCluster,
                                     real_ais: AisCluster, tmp_path: Path) -> None:
    """The data commands of the tutorial print the same on the embedded cluster as on
    aisnode (with ids, times and durations masked)."""
    outputs = []
    for endpoint in (cluster.endpoint, real_ais.endpoint):
        home = tmp_path / secrets.token_hex(3)
        home.mkdir()
        ais = Ais(ais_cli, endpoint, home)
        bucket = "cli-same-bucket"
        ais("rmb", "-y", f"ais://{bucket}", ok=False)
        run = [ais("create", f"ais://{bucket}"),
               ais("put", "-", f"ais://{bucket}/shard.in", input=SHARD),
               ais("put", "-", f"ais://{bucket}/dir/b.txt", input=b"x" * 2000),
               ais("ls", f"ais://{bucket}"),
               ais("ls", f"ais://{bucket}", "--props", "name,size,version"),
               ais("object", "cat", f"ais://{bucket}/shard.in"),
               ais("ls", f"ais://{bucket}/nope", ok=False),
               ais("get", f"ais://{bucket}/missing", "-", ok=False),
               ais("create", f"ais://{bucket}", ok=False),
               # not `ais show job`: aisnode lists each listing's `list` job (it lingers
               # idle for a while after the last page); the embedded cluster lists without one
               ais("rmo", f"ais://{bucket}/shard.in"),
               ais("rmb", "-y", f"ais://{bucket}")]
        outputs.append([_masked(o) for o in run])
    assert outputs[0] == outputs[1]


def test_the_cli_uses_the_clusters_token_file_and_is_refused_without_it(ais: Ais) -> None:
    """The embedded cluster's token file is in the shape ``ais auth login`` writes: named by
    ``AIS_AUTHN_TOKEN_FILE`` the CLI uses it unchanged; without a token it is a 401 that
    says where the token is."""
    ais("ls", "--all")  # (it fails the test unless the CLI exits 0)
    del ais.env["AIS_AUTHN_TOKEN_FILE"]
    refused = ais("ls", "--all", ok=False)
    assert "token required" in refused and "aisetl-tui cluster env" in refused
