"""A target's page of an object listing (``list`` on a bucket): names and the properties
asked, one level only (flag no-recursion), or with the files inside archives (flag arch-dir)."""

from __future__ import annotations

from . import _lso
from ._archive import is_archive_name, members
from ._smap import Node
from ._storage import ObjectStore


def list_page(store: ObjectStore, node: Node, bucket: str, lso: _lso.LsoMsg) -> _lso.Page:
    """One target's page of a listing (the proxy merges the targets' pages)."""
    after = max(lso.continuation_token, lso.start_after)
    bits = lso.flag_bits
    names: list[tuple[str, int | None]]
    archived: set[str] = set()  # of the names: files inside archives
    if bits & _lso.LS_NO_RECURSION:
        names = store.list_level(bucket, lso.prefix, after, lso.page_size)  # type: ignore[assignment]
    elif bits & _lso.LS_ARCH_DIR:
        names, archived = _with_archived(store, bucket, lso.prefix, after, lso.page_size)  # type: ignore[assignment]
    else:
        names = store.list_names(bucket, lso.prefix, after, lso.page_size)  # type: ignore[assignment]
    wanted = lso.wanted()
    need_meta = bool(wanted & {"checksum", "atime", "version"})
    location = f"{node.pretty}:{store.root}"
    entries = []
    for name, size in names:
        if size is None:  # a virtual directory of a non-recursive listing (aisnode lists
            # them with the flag no-dirs too: that flag is for multi-object jobs)
            entries.append(_lso.Entry(n=name, f=_lso.ENTRY_IS_DIR))
            continue
        if name in archived:
            entries.append(_lso.Entry(n=name, f=_lso.ENTRY_IN_ARCH, s=size))
            continue
        flag = _lso.ENTRY_CACHED
        if bits & _lso.LS_ARCH_DIR and is_archive_name(name):
            flag |= _lso.ENTRY_IS_ARCHIVE
        e = _lso.Entry(n=name, f=flag)
        if "size" in wanted:
            e.s = size
        if need_meta:
            meta = store.meta_of(bucket, name)
            if meta is None:
                continue
            if "checksum" in wanted:
                e.cs = meta.cksum_value
            if "atime" in wanted:
                e.a = _lso.format_atime(meta.atime_ns, lso.time_format)
            if "version" in wanted:
                e.v = str(meta.version)
        if "location" in wanted:
            e.t = location
        if "copies" in wanted:
            e.c = 1
        entries.append(e)
    return _lso.Page(entries)

def _with_archived(store: ObjectStore, bucket: str, prefix: str, after: str,
                   limit: int) -> tuple[list[tuple[str, int]], set[str]]:
    """A page of objects and, after each archive, its files as ``<archive>/<path>``
    (flag arch-dir). Every object under ``prefix`` is listed (and every archive read) for
    each page: this listing is for buckets of shards, not for millions of objects."""
    objects: list[tuple[str, int]] = []
    last = ""
    while page := store.list_names(bucket, prefix, last, _lso.MAX_PAGE_SIZE):
        objects.extend(page)
        last = page[-1][0]
    # the prefix may point inside an archive: "shard.tar/dir/"
    for cut in (i for i, c in enumerate(prefix) if c == "/"):
        if is_archive_name(prefix[:cut]) and store.meta_of(bucket, prefix[:cut]):
            objects.append((prefix[:cut], store.head(bucket, prefix[:cut]).size))
    out: list[tuple[str, int]] = []
    archived: set[str] = set()
    for name, size in objects:
        if name.startswith(prefix):
            out.append((name, size))
        if is_archive_name(name):
            f, _meta = store.open(bucket, name)
            with f:
                inside = members(f, f"ais://{bucket}/{name}")
            for path, file_size in inside:
                full = f"{name}/{path}"
                if full.startswith(prefix):
                    out.append((full, file_size))
                    archived.add(full)
    out.sort()
    return [e for e in out if e[0] > after][:limit], archived
