"""The cluster map (Smap): which nodes exist and where they listen, in AIStore's JSON shape."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .. import _hrw
from ._fs import write_atomic

HOST = "127.0.0.1"
_ID_ALPHABET = string.ascii_letters


def new_node_id() -> str:
    """An 8-letter node ID; letters only so ``<etl>-<id lower>`` is a valid pod name."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def new_uuid() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))


@dataclass(frozen=True)
class Node:
    daemon_id: str
    daemon_type: str  # "proxy" | "target"
    port: int

    @cached_property
    def id_digest(self) -> int:
        return _hrw.digest(self.daemon_id)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pretty(self) -> str:
        return f"{self.daemon_type[0]}[{self.daemon_id}]"

    def to_json(self) -> dict:
        net = {"node_ip_addr": HOST, "daemon_port": str(self.port), "direct_url": self.url}
        return {
            "public_net": net,
            "intra_control_net": net,
            "intra_data_net": net,
            "daemon_type": self.daemon_type,
            "daemon_id": self.daemon_id,
            "flags": 0,
            "id_digest": self.id_digest,
        }


@dataclass(frozen=True)
class ClusterMap:
    uuid: str
    version: int
    creation_time: str
    proxy: Node
    targets: tuple[Node, ...] = field(default_factory=tuple)

    def target(self, daemon_id: str) -> Node | None:
        return next((t for t in self.targets if t.daemon_id == daemon_id), None)

    def node(self, daemon_id: str) -> Node | None:
        return self.proxy if daemon_id == self.proxy.daemon_id else self.target(daemon_id)

    def owner(self, bucket: str, obj: str) -> Node:
        return _hrw.owner(self.targets, bucket, obj)

    def to_json(self) -> dict:
        return {
            "pmap": {self.proxy.daemon_id: self.proxy.to_json()},
            "proxy_si": self.proxy.to_json(),
            "tmap": {t.daemon_id: t.to_json() for t in self.targets},
            "uuid": self.uuid,
            "creation_time": self.creation_time,
            "version": str(self.version),
        }

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_json(), indent=1).encode())

    @classmethod
    def load(cls, path: Path) -> ClusterMap:
        raw = json.loads(path.read_text())

        def node(js: dict) -> Node:
            return Node(js["daemon_id"], js["daemon_type"], int(js["public_net"]["daemon_port"]))

        return cls(
            uuid=raw["uuid"],
            version=int(raw["version"]),
            creation_time=raw["creation_time"],
            proxy=node(raw["proxy_si"]),
            targets=tuple(
                sorted((node(t) for t in raw["tmap"].values()), key=lambda n: n.daemon_id)
            ),
        )
