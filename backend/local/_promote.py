"""Promote (the ``promote`` action): files of this machine become objects. As AIStore 5.0
does, only files under the promote root are taken (``/var/lib/ais/promote`` by default, as
``apc.PromoteRoot``; the cluster's ``--promote-root`` chooses another), named by absolute
paths without ``.`` or ``..`` elements; symbolic links are not followed. Every target sees the
same files here (a "file share"): each promotes those whose objects it owns."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import msgspec

from ._errors import AISHTTPError, bad_request
from ._names import validate_object_name
from ._services import TargetServices
from ._xact import Xaction

DEFAULT_ROOT = Path("/var/lib/ais/promote")


class PromoteArgs(msgspec.Struct, kw_only=True):
    """``apc.PromoteArgs``."""

    tid: str = ""  # the target whose files these are (here: every target's)
    src: str = ""
    obj: str = ""  # the object's name (a file), or the prefix of the names (a directory)
    rcr: bool = False  # into subdirectories
    ovw: bool = False  # overwrite objects that exist
    dls: bool = False  # delete each file once promoted
    notshr: bool = False


def check_source(src: str) -> None:
    """AIStore's lexical rules for a promote source."""
    if not src:
        raise bad_request("invalid promote source: pathname is empty")
    path = PurePosixPath(src)
    if not path.is_absolute():
        raise bad_request(f"invalid promote source {src!r}: must be an absolute path")
    if any(part in (".", "..") for part in src.split("/")):
        raise bad_request(f"invalid promote source {src!r}: must not contain '.' or '..' "
                          "path elements")


def files_to_promote(args: PromoteArgs, root: Path) -> list[tuple[Path, str]]:
    """(file, object name) of every file the promote takes, checked against ``root``."""
    check_source(args.src)
    src = Path(args.src)
    if not root.is_dir():
        raise bad_request(f"promote root {str(root)!r} does not exist")
    if src != root and root not in src.parents:
        raise bad_request(f"invalid promote source {args.src!r}: not under the promote root "
                          f"{str(root)!r}")
    if src.is_symlink() or any(p.is_symlink() for p in src.parents if root in p.parents):
        raise bad_request(f"invalid promote source {args.src!r}: symbolic links are not "
                          "followed")
    if src.is_file():
        return [(src, args.obj or src.name)]
    if not src.is_dir():
        raise bad_request(f"promote source {args.src!r} does not exist")
    out = []
    for folder, dirs, names in os.walk(src):
        if not args.rcr:
            dirs.clear()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                out.append((path, args.obj + str(path.relative_to(src))))
    return out


async def promote(services: TargetServices, xact: Xaction, bucket: str, args: PromoteArgs,
                  root: Path) -> None:
    """One target's part of a promote: the files whose objects it owns."""
    s = services
    try:
        todo = await s.io(files_to_promote, args, root)
    except AISHTTPError as err:
        xact.abort(err.message)
        return
    for path, name in todo:
        if xact.aborted or not s.owns(bucket, name):
            continue
        try:
            validate_object_name(bucket, name)
            if not args.ovw and await s.io(s.store.meta_of, bucket, name):
                continue  # as AIStore: an object that exists stays unless ovw
            meta = await s.io(s.store.put_files, bucket, name, [path])
        except (AISHTTPError, OSError) as err:
            xact.object_error(str(path), err.message if isinstance(err, AISHTTPError)
                              else str(err))
            continue
        xact.add("loc", 1, meta.size)
        if args.dls:
            await s.io(path.unlink)
    xact.finish()
