"""What to run for an ETL on this machine: the transformer's argv, environment and port."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from ._images import ImageRegistry, LocalImage
from ._msgs import IO, EtlSpec
from ._pod import Launch, PodError, free_port
from ._sandbox import Plan

BOOTSTRAP = [sys.executable, "-m", "backend.local.etl._bootstrap"]
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
# Where an owner keeps their files, and the machine its services' sockets (a network of its
# own does not keep a transformer from a socket file, the container runtime's say): hidden
# from a transformer (see _sandbox)
OWNER_PLACES = ("/root", "/home", "/tmp", "/var/tmp", "/run", "/var/run", "/srv", "/mnt",
                "/media")
NOBODY = 65534


@dataclass(frozen=True)
class Confinement:
    """What a sandboxed transformer may see of its target: the cluster's data directory is
    hidden, but for the target's objects (read-only, for ``etl_fqn``); of this machine's
    network, only the targets' ports (``AIS_TARGET_URL``, direct put)."""

    data_root: Path
    objects: Path
    target_ports: tuple[int, ...] = ()


def pod_plan(confine: Confinement, workdir: Path, launch: Launch, log: list[str]) -> Plan:
    """The sandbox of one transformer: the owner's places and the cluster's data hidden; the
    Python it runs on, this project, the ETL's own files and the target's objects shown
    read-only; a scratch directory of its own (its HOME and TMPDIR) writable. A shown
    directory the pod's user may not read is noted in ``log``."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    root = os.geteuid() == 0
    if root:
        os.chown(home, NOBODY, NOBODY)
    launch.env.update(HOME=str(home), TMPDIR=str(home))
    hidden = {*OWNER_PLACES, str(Path.home()), tempfile.gettempdir(), str(confine.data_root)}
    shown = {sys.base_prefix, sys.prefix, str(PROJECT_ROOT), str(workdir),
             str(confine.objects), *launch.env.get("PYTHONPATH", "").split(os.pathsep)}
    if launch.cwd is not None:
        shown.add(str(launch.cwd))
    shown.update(str(Path(a).parent) for a in launch.argv if os.path.isabs(a))
    if root:
        log.extend(f"note: sandbox: {p} is not readable by the pod's user (nobody, uid "
                   f"{NOBODY}); make it so (chmod o+rx) if the transformer needs it"
                   for p in sorted(shown) if p and not _others_may_read(p))
    launch.reach = list(confine.target_ports)
    return Plan(hide=sorted(hidden), readonly=sorted(p for p in shown if p),
                writable=[str(home)], cwd=str(launch.cwd or home),
                drop_to=NOBODY if root else None, network=True)


def _others_may_read(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True  # nothing there: nothing to say
    need = 0o005 if stat.S_ISDIR(mode) else 0o004
    return mode & need == need


async def prepare(spec: EtlSpec, workdir: Path, target_url: str, log: list[str],
                  images: ImageRegistry, cores: int, port: int | None = None,
                  confine: Confinement | None = None) -> Launch:
    """Write the ETL's files into ``workdir``, install what it needs, and say how to start it.

    ``log`` collects notes for the transformer's log (what was installed, what differs from a
    real pod). ``cores``: this transformer's share of the machine's CPUs. ``port``: where it
    is to listen (a free one if not given). ``confine``: run it in a sandbox (else as an
    ordinary process).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {"AIS_TARGET_URL": target_url, "direct_put": str(spec.direct_put).lower(),
           "DIRECT_PUT": str(spec.direct_put).lower(), **spec.env}
    deps: list[str] = []
    if spec.kind == "code":
        code_path = workdir / "code.py"
        code_path.write_text(spec.code)
        env.update(AISETL_MODE="io" if spec.comm == IO else "code", AISETL_CODE=str(code_path),
                   AISETL_FUNCS=json.dumps(spec.funcs), AISETL_OBJ_TIMEOUT=str(spec.obj_timeout),
                   AISETL_CHUNK_SIZE=str(spec.chunk_size))
        if spec.chunk_size:  # read the object in chunks from its file, not whole from the body
            env["ETL_DIRECT_FQN"] = "true"
        if spec.runtime != f"python{HOST_PYTHON}v2":
            log.append(f"note: runtime {spec.runtime} runs on this machine's Python {HOST_PYTHON}")
        launch = Launch(list(BOOTSTRAP), env, port)
        deps = spec.dependencies
    elif spec.is_class_runtime:
        env["AISETL_MODE"] = "class"
        if "NUM_WORKERS" not in env:
            # The runtime image starts NUM_WORKERS FastAPI processes (6 by default) in a pod
            # with a node to itself; here all targets' transformers share this machine, and
            # processes beyond a transformer's share of the cores only add CPU per object.
            env["NUM_WORKERS"] = str(cores)
            log.append(f"note: NUM_WORKERS={cores} (FastAPI server processes): the "
                       f"transformers of all targets share this machine's {os.cpu_count()} CPUs")
        if not env["NUM_WORKERS"].isdigit() or int(env["NUM_WORKERS"]) < 1:
            raise PodError("NUM_WORKERS must be a positive number of server processes, "
                           f"not {env['NUM_WORKERS']!r}")
        tag = spec.image.rpartition(":")[2]
        if tag != HOST_PYTHON:
            log.append(f"note: {spec.image} runs on this machine's Python {HOST_PYTHON}")
        if os_packages := env.get("OS_PACKAGES"):
            log.append(f"note: OS_PACKAGES ({os_packages}) are not installed by the embedded "
                       "cluster; they must already be on this machine")
        launch = Launch(list(BOOTSTRAP), env, port)
        deps = [p.strip() for p in env.get("PACKAGES", "").split(",") if p.strip()]
    else:
        launch = command_launch(spec, port, env, images.find(spec.image), log)
    launch.env["AISETL_PORT"] = str(port)
    launch.health_path = spec.health_path
    launch.limits = spec.limits
    if deps:
        site = await install_missing(deps, workdir / "deps", spec.init_timeout, log)
        if site is not None:
            launch.env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    if confine is not None:
        launch.sandbox = pod_plan(confine, workdir, launch, log)
    return launch


def command_launch(spec: EtlSpec, port: int, env: dict[str, str], image: LocalImage | None,
                   log: list[str]) -> Launch:
    """Run a container's command as a host process, its port replaced by a free local one.

    With a local image (``aisetl-tui image build``), the paths its Dockerfile copied into the
    image are mapped back to the build context.
    """
    needs_k8s = ("the embedded cluster runs a container's command as a process on this machine "
                 "(register a build context with `aisetl-tui image build -t IMAGE DIR`), or run "
                 "it on a Kubernetes-backed AIStore cluster")
    command = spec.command or (image.default_command if image else [])
    if not command:
        raise PodError(f'cannot run image "{spec.image}": it has no command; {needs_k8s}')
    argv = [_localize(arg, spec.container_port, port) for arg in command]
    cwd = None
    if image is not None:
        argv = [_host_arg(image, arg) for arg in argv]
        cwd = image.host_path(image.workdir) or image.context
        if not cwd.is_dir():
            cwd = image.context
        env.update({k: v for k, v in image.env.items() if k not in env})
        log.extend(f"note: Dockerfile step not run here: RUN {step}" for step in image.skipped)
    exe = shutil.which(argv[0]) or (argv[0] if os.path.isfile(argv[0]) else None)
    if exe is None:
        raise PodError(f'cannot run image "{spec.image}": its command "{argv[0]}" does not exist '
                       f"on this machine; {needs_k8s}")
    if _is_python_script(exe):
        argv = [sys.executable, exe, *argv[1:]]
    env["PORT"] = str(port)
    return Launch(argv, env, port, cwd=cwd)


def _host_arg(image: LocalImage, arg: str) -> str:
    if not arg or arg.startswith("-"):
        return arg
    path = image.host_path(arg)
    return str(path) if path is not None and path.exists() else arg


def _localize(arg: str, container_port: int, port: int) -> str:
    if arg == str(container_port):
        return str(port)
    if arg == "0.0.0.0":
        return "127.0.0.1"
    return arg.replace(f":{container_port}", f":{port}") if "0.0.0.0:" in arg else arg


def _is_python_script(path: str) -> bool:
    if path.endswith(".py"):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def missing_requirements(requirements: list[str]) -> list[str]:
    """The requirements this Python does not already satisfy."""
    missing = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as err:
            raise PodError(f"invalid dependency {text!r}: {err}") from None
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            missing.append(text)
    return missing


async def install_missing(requirements: list[str], target: Path, timeout: float,
                          log: list[str]) -> Path | None:
    """pip-install the missing requirements into ``target``; None if nothing was needed."""
    missing = missing_requirements(requirements)
    present = [r for r in requirements if r not in missing]
    if present:
        log.append(f"dependencies already on this machine: {', '.join(present)}")
    if not missing:
        return None
    marker = target / ".installed.json"
    if marker.exists() and json.loads(marker.read_text()) == missing:
        return target
    shutil.rmtree(target, ignore_errors=True)
    log.append(f"installing dependencies: {', '.join(missing)}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-input", "--target", str(target), *missing,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PodError(f"installing {', '.join(missing)} took longer than {timeout:g}s") from None
    if proc.returncode != 0:
        tail = "\n".join(out.decode(errors="replace").splitlines()[-10:])
        raise PodError(f"installing dependencies {', '.join(missing)} failed:\n{tail}")
    marker.write_text(json.dumps(missing))
    log.append(f"installed dependencies: {', '.join(missing)}")
    return target
