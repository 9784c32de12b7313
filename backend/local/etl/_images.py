"""Local images: the embedded cluster's stand-in for ``docker build -t NAME DIR`` + a registry.

An image name is bound to a build context (a directory with a Dockerfile). When an ETL names
that image, its container command runs on this machine with every path the Dockerfile
``COPY``-ed into the image mapped back to the file in the build context. ``RUN`` steps are not
executed: what they install must already be on this machine.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .._fs import write_atomic

REGISTRY = "images.json"


class ImageError(Exception):
    """A build context or Dockerfile that cannot be used."""


@dataclass
class LocalImage:
    name: str
    context: Path
    workdir: str = "/"
    copies: list[tuple[str, str]] = field(default_factory=list)  # (context path, image path)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # RUN steps not executed here

    def host_path(self, image_path: str) -> Path | None:
        """The file in the build context that the image has at ``image_path``."""
        path = posixpath.normpath(posixpath.join(self.workdir, image_path))
        for src, dst in reversed(self.copies):
            if path == dst:
                return self.context / src
            if path.startswith(dst.rstrip("/") + "/") and (self.context / src).is_dir():
                return self.context / src / path[len(dst.rstrip("/")) + 1:]
        return None

    @property
    def default_command(self) -> list[str]:
        return self.entrypoint + self.cmd


def _args(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            return [str(a) for a in json.loads(rest)]
        except ValueError as err:
            raise ImageError(f"invalid JSON array {rest!r}: {err}") from None
    return ["/bin/sh", "-c", rest]


def parse_dockerfile(name: str, context: Path) -> LocalImage:
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        raise ImageError(f"{context} has no Dockerfile")
    image = LocalImage(name, context.resolve())
    text = dockerfile.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "WORKDIR":
            image.workdir = posixpath.normpath(posixpath.join(image.workdir, rest.strip()))
        elif op in ("COPY", "ADD"):
            parts = [p for p in shlex.split(rest) if not p.startswith("--")]
            if len(parts) < 2:
                raise ImageError(f"{op} needs a source and a destination: {line!r}")
            dst = posixpath.join(image.workdir, parts[-1])
            for src in parts[:-1]:
                target = dst
                if parts[-1].endswith("/") or len(parts) > 2:
                    target = posixpath.join(dst, posixpath.basename(src.rstrip("/")))
                image.copies.append((src, posixpath.normpath(target)))
        elif op == "ENTRYPOINT":
            image.entrypoint = _args(rest)
        elif op == "CMD":
            image.cmd = _args(rest)
        elif op == "ENV":
            if "=" in rest.split(" ", 1)[0]:
                for pair in shlex.split(rest):
                    key, _, value = pair.partition("=")
                    image.env[key] = value
            else:
                key, _, value = rest.strip().partition(" ")
                image.env[key] = value.strip()
        elif op == "RUN":
            image.skipped.append(rest.strip())
    return image


class ImageRegistry:
    """``images.json`` in the cluster's data directory: image name → build context."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / REGISTRY

    def all(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def add(self, name: str, context: Path) -> LocalImage:
        image = parse_dockerfile(name, context)
        images = self.all()
        images[name] = str(image.context)
        write_atomic(self.path, json.dumps(images, indent=1).encode())
        return image

    def remove(self, name: str) -> bool:
        images = self.all()
        if images.pop(name, None) is None:
            return False
        write_atomic(self.path, json.dumps(images, indent=1).encode())
        return True

    def find(self, name: str) -> LocalImage | None:
        context = self.all().get(name) or self.all().get(name.removeprefix("docker.io/"))
        return parse_dockerfile(name, Path(context)) if context else None
