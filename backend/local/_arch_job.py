"""Making an archive out of objects (the ``archive`` action, AIStore's ``xact/xs/archive.go``):
the target that owns the archive's name gathers the objects (listed, or a brace template)
from wherever they live and writes one TAR, TGZ or ZIP object, atomically; with ``aate``
(append to existing) an archive that exists keeps its files first."""

from __future__ import annotations

import msgspec

from ._archive import ArchiveWriter, archive_extension, archive_kind, files
from ._errors import AISHTTPError, bad_request
from ._names import validate_object_name
from ._services import TargetServices
from ._tcb import TCBMsg
from ._xact import Xaction


class ArchiveMsg(msgspec.Struct, kw_only=True):
    """``cmn.ArchiveBckMsg``: where, what format, which objects, how named."""

    archname: str
    mime: str = ""
    objnames: list[str] | None = None
    template: str = ""
    isbn: bool = False  # names in the archive: <bucket>/<object>
    aate: bool = False  # append to an existing archive
    coer: bool = False  # continue on error

    def selection(self) -> TCBMsg:
        """The objects to archive, as a job's message names them."""
        return TCBMsg(objnames=self.objnames, template=self.template)


def check(dst: str, msg: ArchiveMsg) -> str:
    """The archive's format, once the message is known to be sound (a template is expanded
    only when the archive is made)."""
    validate_object_name(dst, msg.archname)
    if not msg.selection().is_listed:
        raise bad_request("archive: the objects to archive are required (objnames or "
                          "template)")
    return archive_kind(msg.mime or archive_extension(msg.archname), "writing")


async def run_archive(xact: Xaction, services: TargetServices, src: str, dst: str,
                      msg: ArchiveMsg) -> None:
    where = f"ais://{dst}/{msg.archname}"
    kind = check(dst, msg)
    kept: list[tuple[str, bytes]] = []
    if msg.aate:
        try:
            old = await services.read_object(dst, msg.archname)
            kept = await services.io(lambda: list(files(old, where)))
        except AISHTTPError as err:
            if err.status != 404:
                xact.abort(err.message)
                return
    writer = await services.io(services.store.writer, dst, msg.archname)
    archive = ArchiveWriter(kind, writer)
    try:
        for name, data in kept:
            await services.io(archive.add, name, data)
        for name in msg.selection().listed_names() or []:
            if xact.aborted:
                raise AISHTTPError(409, xact.err)
            try:
                data = await services.read_object(src, name)
            except AISHTTPError as err:
                xact.object_error(f"ais://{src}/{name}", err.message, err.status)
                if msg.coer:
                    continue
                raise
            await services.io(archive.add, f"{src}/{name}" if msg.isbn else name, data)
            xact.add("loc", 1, len(data))
        await services.io(archive.close)
        await services.io(writer.commit)
    except (AISHTTPError, OSError) as err:  # as AIStore: the job aborts, nothing is written
        await services.io(writer.abort)
        xact.abort(err.message if isinstance(err, AISHTTPError) else str(err))
        return
    xact.finish()
