"""Command line: ``aisetl-tui`` and ``aisetl-tui cluster [start|status|stop]``."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from backend.local import (
    ClusterError,
    LocalCluster,
    RunInfo,
    default_data_dir,
    find_running,
)
from backend.local.etl import ImageError, ImageRegistry

START_TIMEOUT = 60.0


def _cluster_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", type=int, default=2, help="number of targets (default 2)")
    parser.add_argument("--port", type=int, default=None,
                        help="proxy port (default 8080, or any free port if 8080 is taken)")
    parser.add_argument("--data", type=Path, default=None,
                        help=f"data directory (default {default_data_dir()})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aisetl-tui", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    cluster = sub.add_parser("cluster", help="run the embedded AIStore-compatible cluster")
    _cluster_args(cluster)
    actions = cluster.add_subparsers(dest="action")
    for name, text in [("start", "start it in the background"),
                       ("status", "show whether it runs, and where"),
                       ("stop", "stop the one running in the background")]:
        _cluster_args(actions.add_parser(name, help=text))
    image = sub.add_parser("image", help="local images for the embedded cluster's ETLs")
    image_actions = image.add_subparsers(dest="action", required=True)
    build = image_actions.add_parser(
        "build", help="bind an image name to a build context (a directory with a Dockerfile)")
    build.add_argument("-t", "--tag", required=True, help="image name, as ETL specs use it")
    build.add_argument("context", type=Path, help="directory with the Dockerfile")
    image_actions.add_parser("ls", help="list local images")
    remove = image_actions.add_parser("rm", help="forget a local image")
    remove.add_argument("tag")
    for p in image_actions.choices.values():
        p.add_argument("--data", type=Path, default=None, help="the cluster's data directory")
    return parser


def run_foreground(args: argparse.Namespace) -> int:
    cluster = LocalCluster(args.data, targets=args.targets, port=args.port)
    try:
        endpoint = cluster.start()
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"embedded AIStore cluster: {endpoint}  (1 proxy, {args.targets} targets, "
          f"data in {cluster.data_dir})", flush=True)
    print(f"try: AIS_ENDPOINT={endpoint} ais ls   ·   stop with Ctrl-C", flush=True)
    try:
        cluster.serve_forever()
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("cluster stopped", flush=True)
    return 0


def start_background(args: argparse.Namespace) -> int:
    data = (args.data or default_data_dir()).resolve()
    if (running := find_running(data)) is not None:
        print(f"already running: {running.endpoint} (pid {running.pid})")
        return 0
    data.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "aisetl_tui.cli", "cluster", "--data", str(data),
           "--targets", str(args.targets)]
    if args.port is not None:
        cmd += ["--port", str(args.port)]
    log_path = data / "supervisor.log"
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if (running := find_running(data)) is not None and running.pid == proc.pid:
            print(f"started: {running.endpoint} (pid {running.pid})")
            return 0
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            print("error: the cluster did not start:\n" + "\n".join(tail), file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(f"error: the cluster did not start in {START_TIMEOUT:.0f}s; see {log_path}",
          file=sys.stderr)
    return 1


def status(args: argparse.Namespace) -> int:
    data = (args.data or default_data_dir()).resolve()
    running = find_running(data)
    if running is None:
        print(f"not running ({data})")
        return 3
    print(f"running: {running.endpoint} (pid {running.pid}, {len(running.nodes)} nodes, "
          f"data in {data})")
    return 0


def stop(args: argparse.Namespace) -> int:
    data = (args.data or default_data_dir()).resolve()
    info = RunInfo.read(data)
    if info is None or find_running(data) is None:
        print(f"not running ({data})")
        return 0
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if RunInfo.read(data) is None:
            print("stopped")
            return 0
        time.sleep(0.1)
    print(f"error: pid {info.pid} did not stop in 30s", file=sys.stderr)
    return 1


def images(args: argparse.Namespace) -> int:
    registry = ImageRegistry((args.data or default_data_dir()).resolve())
    if args.action == "build":
        try:
            image = registry.add(args.tag, args.context)
        except ImageError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"{args.tag} -> {image.context}")
        for step in image.skipped:
            print(f"  note: RUN {step}  (not run: what it installs must be on this machine)")
        return 0
    if args.action == "rm":
        if not registry.remove(args.tag):
            print(f"error: no local image {args.tag}", file=sys.stderr)
            return 1
        return 0
    for name, context in sorted(registry.all().items()):
        print(f"{name}\t{context}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "image":
        return images(args)
    if args.command != "cluster":
        # Until the app lands, the default command runs the embedded cluster in the foreground.
        args = build_parser().parse_args(["cluster", *(argv or sys.argv[1:])])
    handlers = {None: run_foreground, "start": start_background, "status": status, "stop": stop}
    return handlers[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
