"""What the Kubernetes screens share: a lazily created client and polling through threads.

Every Kubernetes call is synchronous (it blocks up to the client's timeout), so it runs in
``asyncio.to_thread`` inside an exclusive worker; the next poll is armed only when the
previous one has finished, and polling stops while the screen is not visible.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from backend.kube import KubeClient, KubeError

from ._base import STOP, PollingScreen

NO_KUBE_EMBEDDED = "Kubernetes: the embedded cluster runs no pods"


def short_age(seconds: float | None) -> str:
    """kubectl's AGE: 45s, 12m, 3h, 5d."""
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class KubeScreen(PollingScreen):
    """A screen fed by :meth:`fetch_kube` (run in a thread) every ``INTERVAL`` seconds."""

    INTERVAL: ClassVar[float] = 5.0
    ERRORS = (KubeError,)
    ERROR_PREFIX = "Kubernetes: "

    async def load(self) -> Any:
        kube = await self.session.kube_client()
        if kube is None:
            self.show_problem(self.session.kube_note or NO_KUBE_EMBEDDED, "yellow")
            return STOP  # no Kubernetes here: the note stays, polling ends
        return await asyncio.to_thread(self.fetch_kube, kube)

    def fetch_kube(self, kube: KubeClient) -> Any:
        """Runs in a thread: the blocking calls."""
        raise NotImplementedError
