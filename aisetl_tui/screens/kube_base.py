"""What the Kubernetes screens share: a lazily created client and polling through threads.

Every Kubernetes call is synchronous (it blocks up to the client's timeout), so it runs in
``asyncio.to_thread`` inside an exclusive worker; the next poll is armed only when the
previous one has finished, and polling stops while the screen is not visible.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual.timer import Timer

from backend.kube import KubeClient, KubeError

from ._base import AppScreen

NO_KUBE_EMBEDDED = "Kubernetes: the embedded cluster runs no pods"


def short_age(seconds: float | None) -> str:
    """kubectl's AGE: 45s, 12m, 3h, 5d."""
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class KubeScreen(AppScreen):
    """A screen fed by :meth:`fetch_kube` (run in a thread) every ``INTERVAL`` seconds."""

    INTERVAL: ClassVar[float] = 5.0
    _timer: Timer | None = None

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.refresh_now()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def refresh_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.run_worker(self._poll, exclusive=True, group="kube-poll")

    def action_refresh(self) -> None:
        self.refresh_now()

    async def _poll(self) -> None:
        again = True
        try:
            kube = await self.ais.kube_client()
            if kube is None:
                self.show_problem(f"[yellow]{self.ais.kube_note or NO_KUBE_EMBEDDED}[/]")
                again = False
                return
            data = await asyncio.to_thread(self.fetch_kube, kube)
            self.show_problem("")
            self.render_data(data)
        except KubeError as err:
            self.show_problem(f"[red]Kubernetes: {err}[/]")
        finally:
            if again and self.is_current and self.INTERVAL > 0:
                self._timer = self.set_timer(self.INTERVAL, self.refresh_now)

    def fetch_kube(self, kube: KubeClient) -> Any:
        """Runs in a thread: the blocking calls."""
        raise NotImplementedError

    def render_data(self, data: Any) -> None:
        raise NotImplementedError
