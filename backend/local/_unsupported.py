"""What of AIStore's API the embedded cluster does not do, refused with a 501 that names it
(AIStore's error shape), so a request is never accepted and silently ignored: user code that
"works" here would fail on the real cluster otherwise.

Query parameters are AIStore's (``api/apc/query.go``), list flags its ``LsoMsg`` bits
(``api/apc/lsmsg.go``), actions its ``Act*`` names (``api/apc/actmsg.go``). Parameters AIStore
itself ignores where they do not apply are not listed: only those that ask for something this
cluster would not do.
"""

from __future__ import annotations

import json

from aiohttp import web

from ._errors import AISHTTPError, bad_request, not_supported

UNSUPPORTED_QUERY = {
    "archpath": "writing into an archive (archpath)",
    "archregx": "writing into an archive (archregx)",
    "archmode": "writing into an archive (archmode)",
    "archmime": "writing into an archive (archmime)",
    "uploads": "S3-style multipart uploads (uploads)",
    "mountpath_label": "mountpath labels (mountpath_label)",
    "original_url": "objects from an HTTP(S) origin (original_url)",
    "skip_vc": "skipping version checks of remote objects (skip_vc)",
    "validate-checksum": "validating checksums on demand (validate-checksum)",
    "object": "erasure-coded slices (object)",
    "namespace": "bucket namespaces other than the default (namespace)",
}

# The rest of AIStore's query parameters (``api/apc/query.go``), each accounted for:
DONE_QUERY = frozenset({  # done as AIStore does them, where they apply
    "what", "props", "uuid", "etl_name", "etl_pipeline", "etl_args", "provider",
    "bck_to", "object_to", "bsumm_remote", "append_type", "append_handle", "severity",
    "offset", "all", "archpath", "archmime", "archregx", "archmode", "set-new-custom",
    "uploadId", "partNumber", "coloc",
})
NO_EFFECT_QUERY = {  # ask for nothing this cluster would do otherwise
    **dict.fromkeys(("dont_add_remote_bck_md", "dont_head_remote_bck", "keep_bck_md",
                     "latest-ver", "synchronize", "presence"),
                    "about remote buckets or remote versions: every bucket here is ais://, "
                    "every object present"),
    "frc": "forcing past conflicting jobs or metadata: there are none to force past here",
    "transient": "in-memory-only configuration changes: configuration is not changed here",
    "sln": "silencing a node's log of an expected error: a log line either way",
    **dict.fromkeys(("etl_fqn", "etl_secret"),
                    "between a target and its transformers: this cluster's own protocol"),
    **dict.fromkeys(("jobid", "regex", "only_active", "tcs", "tise", "tunc"),
                    "dsort's, which is refused as a whole"),
    **dict.fromkeys(("readiness", "apr", "prr", "pid", "can", "prp", "utm", "gfn", "rbs",
                     "rbd", "cii", "owt", "dntres", "xnt", "xht", "xwm", "confirm-fshr",
                     "act-no-xact", "nft", "vpams", "x", "u", "tid", "sys"),
                    "between AIStore's own nodes (elections, transactions, rebalance, "
                    "signatures): never a client's request"),
}

BY_PRESENCE = {"uploads"}
DONE_ON_GET = {"archpath", "archregx", "archmode", "archmime"}  # reads out of an archive

LS_DIFF = 1 << 12
LS_NBI = 1 << 15
UNSUPPORTED_LIST_FLAGS = {
    LS_DIFF: "listing differences with the remote bucket (flag diff)",
    LS_NBI: "listing from a bucket inventory (flag nbi)",
}


# Every action AIStore 5.0 knows (``api/apc/actmsg.go``)
AIS_ACTIONS = frozenset((
    "create-bck", "destroy-bck", "set-bprops", "reset-bprops", "summary-bck", "ec-encode",
    "ec-get", "ec-put", "ec-resp", "copy-bck", "etl-bck", "etl-inline", "dsort", "download",
    "blob-download", "make-n-copies", "put-copies", "rechunk", "index-shard", "summary-shard",
    "rebalance", "move-bck", "resilver", "election", "lru", "cleanup-store", "evict-remote-bck",
    "list", "load-lom-cache", "new-primary", "promote", "rename-obj", "revoke-token", "mpt-upload",
    "mpt-complete", "mpt-abort", "reset-stats", "reset-config", "set-config", "rotate-logs",
    "reload-creds", "clear-lcache", "shutdown", "copy-listrange", "delete-listrange",
    "etl-listrange", "evict-listrange", "prefetch-listrange", "archive", "attach", "detach",
    "enable-bend", "disable-bend", "start-maintenance", "stop-maintenance", "shutdown-node",
    "decommission-node", "decommission", "admin-join-target", "self-join-target",
    "admin-join-proxy", "self-join-proxy", "keepalive-update", "watch-xaction", "ic-merge-own-tbl",
    "reg-global-xaction", "check-lock", "get-batch", "create-inventory", "destroy-inventory",
    "show-inventory", "attach-mp", "enable-mp", "detach-mp", "disable-mp", "rescan-mp", "fshc-mp",
    "add-remote-bck", "head-bck-with-bprops", "rm-unsafe", "start-gfn", "stop-gfn",
    "self-initiated-removal", "primary-force", "bump-metasync", "open-ec-streams",
    "close-ec-streams", "recover", "stop", "start",
))


# What AIStore 5.0's proxy takes where (its handlers' action switches: ais/proxy.go httpbckpost,
# httpbckdelete, httpbckget, httpbckput, httpbckpatch, httpobjpost; ais/prxclu.go cluputMsg).
# Any other action there, known or not, AIStore answers 400 ``invalid action "X"``.
ACCEPTED_AT: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "bucket"): frozenset((
        "copy-bck", "copy-listrange", "create-bck", "create-inventory", "ec-encode", "etl-bck",
        "etl-listrange", "index-shard", "make-n-copies", "move-bck", "prefetch-listrange",
        "rechunk")),
    ("DELETE", "bucket"): frozenset((
        "delete-listrange", "destroy-bck", "destroy-inventory", "evict-listrange",
        "evict-remote-bck")),
    ("GET", "bucket"): frozenset(("list", "show-inventory", "summary-bck", "summary-shard")),
    ("GET", "buckets"): frozenset(("list", "show-inventory", "summary-bck", "summary-shard")),
    ("PUT", "bucket"): frozenset(("archive",)),
    ("PATCH", "bucket"): frozenset(("reset-bprops", "set-bprops")),
    ("DELETE", "object"): frozenset(("mpt-abort",)),  # (a target's, with ?uploadId)
    ("POST", "object"): frozenset((
        "blob-download", "check-lock", "mpt-abort", "mpt-complete", "mpt-upload", "promote",
        "rename-obj")),
    ("PUT", "cluster"): frozenset((
        "bump-metasync", "clear-lcache", "decommission", "decommission-node", "reload-creds",
        "reset-config", "reset-stats", "rm-unsafe", "rotate-logs", "set-config", "shutdown",
        "shutdown-node", "start", "start-maintenance", "stop", "stop-maintenance")),
}


def _endpoint(where: str) -> str:
    """``ais://b`` → bucket, ``ais://b/o`` or ``/v1/objects/...`` → object, else the path's
    first part after /v1/ (buckets, cluster)."""
    if where.startswith("ais://"):
        return "object" if "/" in where.removeprefix("ais://") else "bucket"
    if where.startswith("/v1/objects/"):
        return "object"
    return where.removeprefix("/v1/").split("/", 1)[0]


def action_refused(method: str, where: str, action: str) -> AISHTTPError:
    """The error for ``action`` sent with ``method`` to ``where`` (``ais://b``, a path), which
    this cluster does not do there: 501 naming it if AIStore does it there, else AIStore's
    own 400 (with what is taken there)."""
    if not action:
        return bad_request(f"{method} {where}: missing action message")
    accepted = ACCEPTED_AT.get((method.split()[0], _endpoint(where)), frozenset())
    if action in accepted:
        return not_supported(f"action {action!r} ({method} {where})")
    if action not in AIS_ACTIONS:
        return bad_request(f"invalid action {json.dumps(action)}: AIStore has no such action")
    takes = f" ({method} {where} takes: {', '.join(sorted(accepted))})" if accepted else ""
    return bad_request(f"invalid action {json.dumps(action)}{takes}")


def refuse_unsupported_list_flags(flags: int) -> None:
    for bit, what in UNSUPPORTED_LIST_FLAGS.items():
        if flags & bit:
            raise not_supported(what)


def refuse_unsupported_query(request: web.Request) -> None:
    """A request check (``_http.request_checks``): no parameter asks for what is not done."""
    for name, value in request.query.items():
        # empty is "not asked" (the SDK sends archpath="" with no archive), except for a
        # parameter whose presence is the question (S3's ``?uploads``)
        if request.method in ("GET", "HEAD") and name in DONE_ON_GET:
            continue
        if (what := UNSUPPORTED_QUERY.get(name)) is not None and (value or name in BY_PRESENCE):
            raise not_supported(f"{what}, as in {request.method} {request.path}")
