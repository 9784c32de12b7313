"""Named clusters (contexts), k9s-style: the embedded cluster is always one, the others come
from ``$XDG_CONFIG_HOME/aisetl-tui/contexts.toml``::

    [contexts.prod]
    endpoint = "http://ais-proxy.prod:51080"
    token_file = "~/.config/ais/cli/auth.token"   # or token = "..." (or neither)
    kube_context = "prod"                           # optional, as --context
    kube_namespace = "ais"                          # optional, as --namespace
"""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from backend.ais import AisClient, AisError, load_token, read_token_file
from backend.local import read_token

from .config import ConfigError, config_dir

EMBEDDED = "embedded"  # the embedded cluster's context
EMBEDDED_DEPLOYMENT = "embedded"  # what its proxy says its deployment is (node_status)
_KEYS = {"endpoint", "token", "token_file", "kube_context", "kube_namespace"}


@dataclass(frozen=True)
class Context:
    """A cluster the app can work on: the embedded one (no ``endpoint``) or an AIStore
    endpoint, with how to authenticate and, optionally, where its Kubernetes is."""

    name: str
    endpoint: str | None = None
    token: str = ""
    token_file: str = ""
    kube_context: str | None = None
    kube_namespace: str | None = None

    @property
    def embedded(self) -> bool:
        return self.endpoint is None

    def token_value(self) -> str | None:
        """The token this context names (inline, or read from its file), or None when it
        names none (AIStore's usual sources are then used)."""
        if self.token:
            return self.token
        return read_token_file(Path(self.token_file).expanduser()) if self.token_file else None

    def describe(self) -> str:
        return "the embedded cluster" if self.embedded else f"{self.name} ({self.endpoint})"


def contexts_path() -> Path:
    return config_dir() / "contexts.toml"


def load_contexts(path: Path | None = None) -> list[Context]:
    """The embedded cluster's context, then the file's in its order. A file that cannot be
    used raises :class:`ConfigError` saying where and why (nothing in it is ignored)."""
    path = path or contexts_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return [Context(EMBEDDED)]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    unknown = set(data) - {"contexts"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}: only "
                          "[contexts.NAME] tables belong here")
    contexts = [Context(EMBEDDED)]
    for name, table in (data.get("contexts") or {}).items():
        contexts.append(_context(path, name, table))
    return contexts


def _context(path: Path, name: str, table: object) -> Context:
    where = f"{path}: [contexts.{name}]"
    if name == EMBEDDED:
        raise ConfigError(f"{where}: {EMBEDDED!r} is the embedded cluster's own name")
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    if unknown := set(table) - _KEYS:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: "
                          f"{', '.join(sorted(_KEYS))})")
    if bad := [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]:
        raise ConfigError(f"{where}: {', '.join(bad)} must be non-empty text")
    if "endpoint" not in table:
        raise ConfigError(f'{where}: endpoint is required, e.g. endpoint = "http://host:51080"')
    if "token" in table and "token_file" in table:
        raise ConfigError(f"{where}: give token or token_file, not both")
    return Context(name, table["endpoint"].strip().rstrip("/"), table.get("token", ""),
                   table.get("token_file", ""), table.get("kube_context"),
                   table.get("kube_namespace"))


def launch_context(contexts: list[Context], endpoint: str | None, kube_context: str | None,
                   kube_namespace: str | None) -> Context:
    """The context the app starts on: the embedded cluster without an endpoint, the file's
    context of that endpoint, else one named after the endpoint's host and port."""
    if endpoint is None:
        return contexts[0]
    bare = endpoint.strip().rstrip("/")
    for context in contexts:
        if context.endpoint is not None and _same(context.endpoint, bare):
            return context
    url = urlsplit(bare if "://" in bare else f"http://{bare}")
    return Context(url.netloc or bare, bare, kube_context=kube_context,
                   kube_namespace=kube_namespace)


def _same(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        return url if "://" in url else f"http://{url}"

    return norm(a) == norm(b)


def token_for(endpoint: str, embedded: bool) -> str | None:
    """The token to send when a context names none: the embedded cluster's own for the one
    the app starts; else AIStore's usual sources, and the embedded cluster's token for a
    cluster on this machine when those have none (it never leaves the machine)."""
    if embedded:
        return read_token()
    host = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}").hostname
    return load_token() or (read_token() if host in ("127.0.0.1", "localhost", "::1") else None)


async def deployed_embedded(client: AisClient) -> bool:
    """Whether the cluster ``client`` talks to is an embedded one (its proxy says so); a
    cluster that does not answer the question is taken for another AIStore."""
    with contextlib.suppress(AisError):
        return await client.deployment() == EMBEDDED_DEPLOYMENT
    return False
