"""Command line: ``aisetl-tui`` (the app), ``aisetl-tui cluster [start|status|stop|env]``,
and ``aisetl-tui image build|ls|rm``."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
from pathlib import Path

from backend.local import (
    ClusterError,
    ImageError,
    ImageRegistry,
    LocalCluster,
    RunInfo,
    confinement_gaps,
    default_data_dir,
    default_token_path,
    find_running,
    process_alive,
    read_token,
    start_in_background,
)

from . import __version__

START_TIMEOUT = 60.0


def _cluster_args(parser: argparse.ArgumentParser) -> None:
    """The embedded cluster's options, at ``cluster`` and at each of its actions; none has a
    default there (argparse would let an action's default undo the same option given before
    the action's name: ``cluster --data D start``), they are set once in :func:`build_parser`."""
    given = argparse.SUPPRESS
    parser.add_argument("--targets", type=int, default=given, help="number of targets (default 2)")
    parser.add_argument("--port", type=int, default=given,
                        help="proxy port (default 8080, or any free port if 8080 is taken)")
    parser.add_argument("--data", type=Path, default=given,
                        help=f"data directory (default {default_data_dir()})")
    parser.add_argument("--fsync-put", action="store_true", default=given,
                        help="fsync every PUT (AIStore's Fsync-PUT feature; off by default, "
                             "as in AIStore)")
    parser.add_argument("--promote-root", type=Path, default=given,
                        help="the only tree files may be promoted from (default "
                             "/var/lib/ais/promote, as AIStore)")
    parser.add_argument("--no-auth", action="store_true", default=given,
                        help="serve every local user without a token (by default every "
                             f"request needs the one in {default_token_path()})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aisetl-tui", description=__doc__)
    parser.add_argument("--endpoint", default=os.environ.get("AIS_ENDPOINT"),
                        help="AIStore endpoint (default: $AIS_ENDPOINT, else the embedded "
                             "cluster, started if it is not running)")
    parser.add_argument("--readonly", action="store_true", help="hide every mutating action")
    parser.add_argument("-c", "--view", default="overview",
                        choices=["overview", "buckets", "etls", "pods", "jobs"],
                        help="the first screen (default overview)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data", type=Path, default=None,
                        help="the embedded cluster's data directory")
    parser.add_argument("--targets", type=int, default=2,
                        help="targets of the embedded cluster when it is started (default 2)")
    parser.add_argument("--context", default=None,
                        help="Kubernetes context of the kubeconfig (default: its current one)")
    parser.add_argument("--namespace", default=None,
                        help="Kubernetes namespace of AIStore's pods (default: the context's)")
    parser.set_defaults(port=None, fsync_put=False, promote_root=None, no_auth=False)
    sub = parser.add_subparsers(dest="command")
    cluster = sub.add_parser("cluster", help="run the embedded AIStore-compatible cluster")
    _cluster_args(cluster)
    actions = cluster.add_subparsers(dest="action")
    for name, text in [("start", "start it in the background"),
                       ("status", "show whether it runs, and where"),
                       ("stop", "stop the one running in the background"),
                       ("env", "print the export lines the ais CLI and the SDK need")]:
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
        p.add_argument("--data", type=Path, default=argparse.SUPPRESS,
                       help="the cluster's data directory")
    return parser


def run_foreground(args: argparse.Namespace) -> int:
    cluster = LocalCluster(args.data, targets=args.targets, port=args.port,
                           fsync_put=args.fsync_put, promote_root=args.promote_root,
                           auth=not args.no_auth)
    try:
        endpoint = cluster.start()
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"embedded AIStore cluster: {endpoint}  (1 proxy, {args.targets} targets, "
          f"data in {cluster.data_dir})", flush=True)
    print(_access_note(cluster.auth), flush=True)
    print(f"try: eval \"$(aisetl-tui cluster env{_data_option(args)})\"; ais ls   ·   "
          "stop with Ctrl-C", flush=True)
    print_confinement()
    try:
        cluster.serve_forever()
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("cluster stopped", flush=True)
    return 0


def start_background(args: argparse.Namespace) -> int:
    data = (args.data or default_data_dir()).resolve()
    already = find_running(data)
    try:
        info = start_in_background(data, args.targets, args.port, START_TIMEOUT,
                                   args.fsync_put, args.promote_root, auth=not args.no_auth)
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    verb = "already running" if already else "started"
    print(f"{verb}: {info.endpoint} (pid {info.pid})")
    return 0


def status(args: argparse.Namespace) -> int:
    data = (args.data or default_data_dir()).resolve()
    running = find_running(data)
    if running is None:
        print(f"not running ({data})")
        return 3
    print(f"running: {running.endpoint} (pid {running.pid}, {len(running.nodes)} nodes, "
          f"data in {data})")
    print(_access_note(running.auth))
    print_confinement()
    return 0


def _access_note(auth: bool) -> str:
    if not auth:
        return "no token needed (--no-auth): every user of this machine can use it"
    return f"every request needs your token ({default_token_path()}, readable by you only)"


def _data_option(args: argparse.Namespace) -> str:
    return f" --data {shlex.quote(str(args.data))}" if args.data else ""


def env(args: argparse.Namespace) -> int:
    """``export`` lines for the cluster running on the data directory: its endpoint, and the
    owner's token when it asks for one (``eval "$(aisetl-tui cluster env)"``)."""
    data = (args.data or default_data_dir()).resolve()
    running = find_running(data)
    if running is None:
        print(f"error: no cluster runs on {data}; start it with `aisetl-tui cluster start"
              f"{_data_option(args)}`", file=sys.stderr)
        return 3
    if args.port is not None and not running.endpoint.endswith(f":{args.port}"):
        print(f"error: the cluster on {data} listens at {running.endpoint}, not on port "
              f"{args.port}", file=sys.stderr)
        return 3
    print(f"export AIS_ENDPOINT={shlex.quote(running.endpoint)}")
    if running.auth:
        token = read_token()
        if token is None:
            print(f"error: no token in {default_token_path()}", file=sys.stderr)
            return 1
        print(f"export AIS_AUTHN_TOKEN={shlex.quote(token)}")
    else:
        print("unset AIS_AUTHN_TOKEN")
    return 0


def print_confinement() -> None:
    """What a transformer here is not confined by, as a pod would be."""
    gaps = confinement_gaps()
    print("transformers run in a pod-like sandbox" + ("; not confined by:" if gaps else ""),
          flush=True)
    for gap in gaps:
        print(f"  - {gap}", flush=True)


def stop(args: argparse.Namespace) -> int:
    data = (args.data or default_data_dir()).resolve()
    info = RunInfo.read(data)
    if info is None or find_running(data) is None:
        print(f"not running ({data})")
        return 0
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # run.json goes when the nodes have stopped, a moment before the supervisor exits
        if RunInfo.read(data) is None and not process_alive(info.pid):
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


def run_app(args: argparse.Namespace) -> int:
    from .app import AisEtlApp
    from .config import ConfigError, load_keymap
    from .contexts import load_contexts

    try:
        keymap, contexts = load_keymap(), load_contexts()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    app = AisEtlApp(endpoint=args.endpoint, data_dir=args.data, readonly=args.readonly,
                    keymap=keymap, targets=args.targets,
                    kube_context=args.context, kube_namespace=args.namespace,
                    start=args.view, contexts=contexts)
    app.run()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "image":
        return images(args)
    if args.command is None:
        return run_app(args)
    handlers = {None: run_foreground, "start": start_background, "status": status, "stop": stop,
                "env": env}
    return handlers[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
