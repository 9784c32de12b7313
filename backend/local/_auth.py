"""Who may use the embedded cluster: its owner (a bearer token), its own nodes (signed
requests), clients the proxy redirected (signed redirects), and a transformer putting the
one object its target asked for (a signed destination).

The owner's token lives in ``$XDG_CONFIG_HOME/aisetl-tui/cluster.token`` (mode 0600), as
``{"token": ...}``: the file shape ``ais auth login`` writes, so ``AIS_AUTHN_TOKEN_FILE`` can
name it. The nodes never hold the token, only its SHA-256; the supervisor hands each node a
key of this run for everything they sign, through a pipe (not the environment, not argv).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import AISHTTPError
from ._names import base36
from ._smap import ClusterMap, Node

if TYPE_CHECKING:  # (only its type: the app reads the token without loading aiohttp)
    from aiohttp import web

TOKEN_FILE = "cluster.token"
SENDER_ID, SENDER_NAME = "Ais-Caller-Id", "Ais-Caller-Name"  # AIStore's intra-cluster sender
SENDER_SIG, SENDER_NONCE = "Ais-Caller-Sig", "Ais-Caller-Nonce"
REDIRECT_PID, REDIRECT_TIME, REDIRECT_SIG = "pid", "utm", "u"  # AIStore's redirect query
DIRECT_PUT_SIG = "dps"  # on a transformer's direct-put URL: the one object it may put
FRESH_NS = 10 * 60 * 10**9  # how old a signed request or redirect may be
HEALTH = "/v1/health"  # open to all, as AIStore's (health probes carry no token)


class TokenError(Exception):
    """The owner's token file cannot be used; the message says why and what to do."""


def default_token_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "aisetl-tui" / TOKEN_FILE


def read_token(path: Path | None = None) -> str | None:
    """The owner's token, or None if there is none yet (or it cannot be read)."""
    try:
        token = json.loads((path or default_token_path()).read_text()).get("token")
    except (OSError, ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


def ensure_token(path: Path | None = None) -> str:
    """The owner's token, made at first use: a new file only its owner can read. A token
    file others can read is refused (they could use the cluster as its owner)."""
    path = path or default_token_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _existing_token(path)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"token": new_token()}))
    return _existing_token(path)


def _existing_token(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise TokenError(f"{path} can be read by other users (mode {mode:o}): anyone who "
                         f"reads it can use the cluster as you; run `chmod 600 {path}`")
    if (token := read_token(path)) is None:
        raise TokenError(f'{path} holds no token (expected {{"token": "..."}}); remove it '
                         "and a new one is made at the next start")
    return token


def new_token() -> str:
    """A token in the shape of an AuthN JWT (HS256, signed with a key nobody keeps: the
    cluster compares the whole token, so its signature is just its secret part)."""
    def part(data: dict) -> str:
        return _b64(json.dumps(data, separators=(",", ":")).encode())

    header = part({"alg": "HS256", "typ": "JWT"})
    claims = part({"username": getpass.getuser(), "admin": True, "iat": int(time.time()),
                   "iss": "aisetl-tui embedded cluster"})
    signing = f"{header}.{claims}"
    signature = hmac.new(secrets.token_bytes(32), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(signature)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class ClusterAuth:
    """One run's credentials: ``key`` signs what nodes send and redirect; ``owner_digest``
    is the SHA-256 of the owner's token (None: the cluster is open, ``--no-auth``)."""

    key: bytes
    owner_digest: str | None

    @classmethod
    def new(cls, owner_token: str | None) -> ClusterAuth:
        return cls(secrets.token_bytes(32), token_digest(owner_token) if owner_token else None)

    def pipe(self) -> int:
        """A pipe's read end holding these credentials, for a node to read once."""
        read_fd, write_fd = os.pipe()
        with os.fdopen(write_fd, "w") as f:  # (far less than a pipe's buffer)
            f.write(json.dumps({"key": self.key.hex(), "owner": self.owner_digest}))
        return read_fd

    @classmethod
    def read(cls, fd: int) -> ClusterAuth:
        """The credentials the supervisor wrote into the pipe ``fd`` (then closed)."""
        with os.fdopen(fd) as f:
            data = json.loads(f.read())
        return cls(bytes.fromhex(data["key"]), data["owner"])

    def _mac(self, *parts: str) -> str:
        return _b64(hmac.new(self.key, "\0".join(parts).encode(), hashlib.sha256).digest())

    def _valid(self, sig: str, *parts: str) -> bool:
        return hmac.compare_digest(sig.encode(), self._mac(*parts).encode())

    # --- the owner --------------------------------------------------------------------------

    def check_owner(self, request: web.Request) -> None:
        """401 in AIStore's words unless the request carries the owner's token."""
        if self.owner_digest is None:
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            raise AISHTTPError(401, "token required (the embedded cluster's: `aisetl-tui "
                               "cluster env` prints it as AIS_AUTHN_TOKEN)")
        if not hmac.compare_digest(token_digest(token), self.owner_digest):
            raise AISHTTPError(401, 'invalid token from header "Authorization": invalid token '
                               "(not this machine's embedded cluster token)")

    # --- the nodes --------------------------------------------------------------------------

    def sender_headers(self, node: Node) -> dict[str, str]:
        """What a node's requests to the others carry: AIStore's sender headers, signed."""
        nonce = str(time.time_ns())
        return {SENDER_ID: node.daemon_id, SENDER_NAME: node.pretty, SENDER_NONCE: nonce,
                SENDER_SIG: self._mac("node", node.daemon_id, nonce)}

    def from_node(self, request: web.Request, smap: ClusterMap) -> bool:
        """Whether one of this cluster's nodes sent the request (signed, and recent)."""
        headers = request.headers
        sender = smap.node(headers.get(SENDER_ID, ""))
        nonce = headers.get(SENDER_NONCE, "")
        return (sender is not None and headers.get(SENDER_NAME) == sender.pretty
                and _fresh(nonce)
                and self._valid(headers.get(SENDER_SIG, ""), "node", sender.daemon_id, nonce))

    # --- redirects --------------------------------------------------------------------------

    def redirect_query(self, proxy: Node, method: str, path: str) -> str:
        """``pid``, ``utm`` and the signature the proxy adds to a redirect: the target serves
        that method on that path only (``path`` decoded)."""
        utm = base36(time.time_ns())  # AIStore's redirect time, base 36
        return (f"{REDIRECT_PID}={proxy.daemon_id}&{REDIRECT_TIME}={utm}&{REDIRECT_SIG}="
                f"{self._mac('redirect', method, path, proxy.daemon_id, utm)}")

    def redirected(self, request: web.Request, smap: ClusterMap) -> bool | None:
        """None if the request does not say it was redirected; else whether the proxy did
        redirect it here (a valid, recent signature for its method and path)."""
        query = request.query
        if REDIRECT_PID not in query:
            return None
        pid, utm = query[REDIRECT_PID], query.get(REDIRECT_TIME, "")
        return (pid == smap.proxy.daemon_id and _fresh(utm, 36)
                and self._valid(query.get(REDIRECT_SIG, ""), "redirect", request.method,
                                request.path, pid, utm))

    # --- a transformer's direct put ---------------------------------------------------------

    def direct_put_query(self, xid: str, bucket: str, obj: str) -> str:
        """What a transformer's direct-put URL carries: the job it counts for (``uuid``) and
        a signature for that job's one object (the last ETL of a pipeline puts it: the
        signature names no ETL)."""
        return f"uuid={xid}&{DIRECT_PUT_SIG}={self._mac('direct-put', xid, bucket, obj)}"

    def may_put(self, request: web.Request, bucket: str, obj: str) -> bool:
        return self._valid(request.query.get(DIRECT_PUT_SIG, ""), "direct-put",
                           request.query.get("uuid", ""), bucket, obj)


_SECRETS = re.compile(r"(/v1/etl/_object/[^/\s]+/)[^/?\s]+"  # an ETL's object-access secret
                      rf"|(\b(?:{REDIRECT_SIG}|{DIRECT_PUT_SIG}|{SENDER_SIG})[=:]\s*)[\w-]+")


def redact(text: str) -> str:
    """``text`` with every ETL secret and signature in it masked, for logs and errors."""
    return _SECRETS.sub(lambda m: (m[1] or m[2]) + "<secret>", text)


def _fresh(stamp: str, base: int = 10) -> bool:
    try:
        return abs(time.time_ns() - int(stamp, base)) <= FRESH_NS
    except ValueError:
        return False
