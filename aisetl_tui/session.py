"""The session: what every screen works with — the cluster client, Kubernetes, the jobs this
app started, the ETLs it stopped, and the app's flags. The app owns one and keeps it current;
screens read it (``AppScreen.session``) and hear of a new connection by :class:`Connected`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from textual.message import Message

from backend.ais import AisClient, pipeline_text
from backend.kube import KubeClient, KubeConfigError, KubeError  # cheap: kubernetes loads lazily

NO_KUBECONFIG = "Kubernetes: no kubeconfig — showing AIStore's view only"


@dataclass(frozen=True)
class JobRecord:
    """What the app knows about a transform it started (the cluster does not keep it)."""

    xid: str
    etl: str
    src: str
    dst: str
    prefix: str
    started: float
    pipeline: tuple[str, ...] = ()  # the ETLs after ``etl``
    options: dict[str, Any] = field(default_factory=dict)  # how it was started (ext, prepend…)
    parent: str = ""  # the job whose failures this one retries

    @property
    def chain(self) -> str:
        return pipeline_text(self.etl, self.pipeline)


class Connected(Message):
    """The app (re)connected to the cluster: sent to the screen shown then."""


class Session:
    """``kube``: "auto" finds a kubeconfig on first use (in a thread: importing the client
    costs about half a second), None never asks, a :class:`KubeClient` is used as given."""

    def __init__(self, *, readonly: bool = False,
                 kube: KubeClient | Literal["auto"] | None = "auto",
                 kube_context: str | None = None, kube_namespace: str | None = None) -> None:
        self.readonly = readonly
        self.client: AisClient | None = None
        self.embedded = True  # until connected: the embedded cluster has no Kubernetes
        self.supports_init_code = False  # AIStore 5.0 has no ``init code``; ours does
        self.jobs: dict[str, JobRecord] = {}
        self.stopped_etls: set[str] = set()  # stopped here: shown as Stopped, not Aborted
        # per job ID (or "inline:<etl>"): object name -> when first seen failing; the monitor
        # and the workbench share it, so a group's "first seen" is the same on both
        self.error_seen: dict[str, dict[str, float]] = {}
        self.kube_arg = kube
        self.kube_context, self.kube_namespace = kube_context, kube_namespace
        self.kube: KubeClient | None = kube if isinstance(kube, KubeClient) else None
        self.kube_note = ""  # why there is no Kubernetes view ("" when there is one)
        self._kube_resolved = kube != "auto"
        self._kube_lock: asyncio.Lock | None = None

    def remember_job(self, xid: str, etl: str, src: str, dst: str, prefix: str = "",
                     pipeline: Sequence[str] = (), options: dict[str, Any] | None = None,
                     parent: str = "") -> None:
        self.jobs[xid] = JobRecord(xid, etl, src, dst, prefix, time.time(), tuple(pipeline),
                                   dict(options or {}), parent)

    @property
    def kube_possible(self) -> bool:
        """False for the embedded cluster (no Kubernetes behind it) unless a client is given."""
        if isinstance(self.kube_arg, KubeClient):
            return True
        return self.kube_arg == "auto" and not self.embedded

    async def kube_client(self) -> KubeClient | None:
        """The Kubernetes client, created once on first use, in a thread; None when there is
        none (``kube_note`` then says why, or is empty for the embedded cluster)."""
        if self._kube_resolved or not self.kube_possible:
            return self.kube
        if self._kube_lock is None:
            self._kube_lock = asyncio.Lock()
        async with self._kube_lock:
            if not self._kube_resolved:
                try:
                    self.kube = await asyncio.to_thread(
                        KubeClient, context=self.kube_context, namespace=self.kube_namespace)
                    self.kube_note = ""
                    # where the ETL pods are, for every Kubernetes screen; if Kubernetes does
                    # not answer now, the Pods screen asks again and says why
                    with contextlib.suppress(KubeError):
                        await asyncio.to_thread(self.kube.find_etl_namespace)
                except KubeConfigError as err:
                    self.kube_note = (NO_KUBECONFIG if str(err).startswith("no kubeconfig")
                                      else f"Kubernetes: {err} — showing AIStore's view only")
                except KubeError as err:
                    self.kube_note = f"Kubernetes: {err} — showing AIStore's view only"
                self._kube_resolved = True
        return self.kube

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self.kube is not None and self.kube_arg == "auto":  # ours to close
            await asyncio.to_thread(self.kube.close)


class UsesSession:
    """For screens: the app's :class:`Session`, whatever the app class is (tests subclass
    it)."""

    @property
    def session(self) -> Session:
        return self.app.session  # type: ignore[attr-defined]
