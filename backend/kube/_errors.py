"""The exception tree: every failure of :class:`~backend.kube.KubeClient` is a :class:`KubeError`.

::

    KubeError                 base; ``str(e)`` is one readable line
    ├── KubeConfigError       no kubeconfig, unknown context, not in a pod, client not installed
    ├── KubeUnreachable       the API server cannot be reached (refused, DNS, TLS, dropped)
    │   └── KubeTimeout       connected, but no answer within the timeout
    └── KubeApiError          an error answer from the API server (``status``, ``reason``)
        ├── KubeUnauthorized  401: the credentials were rejected
        ├── KubeForbidden     403: RBAC denies ``verb`` on ``resource`` in ``namespace``
        ├── KubeNotFound      404
        └── KubeGone          410: a watch's resourceVersion expired (relist)

Metrics that are missing or forbidden are *not* errors: they come back as
:class:`~backend.kube.MetricsUnavailable`.
"""

from __future__ import annotations


class KubeError(Exception):
    """Base of every error raised by the Kubernetes backend."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        lines = [line.strip() for line in self.message.splitlines() if line.strip()]
        return lines[0] if lines else type(self).__name__


class KubeConfigError(KubeError):
    """No usable configuration: no kubeconfig file, a bad one, an unknown context."""


class KubeUnreachable(KubeError):
    """The API server cannot be reached: connection refused or dropped, DNS, TLS."""


class KubeTimeout(KubeUnreachable):
    """The API server did not answer within the timeout."""


class KubeApiError(KubeError):
    """An error answer from the API server, parsed from its ``Status`` object."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class KubeUnauthorized(KubeApiError):
    """401: the token or certificate was rejected."""


class KubeForbidden(KubeApiError):
    """403: RBAC does not allow ``verb`` on ``resource`` in ``namespace``."""

    def __init__(
        self, message: str, *, verb: str, resource: str, namespace: str, detail: str = ""
    ) -> None:
        super().__init__(403, message, "Forbidden")
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.detail = detail


class KubeNotFound(KubeApiError):
    """404: no such object (or no such API)."""


class KubeGone(KubeApiError):
    """410: the requested resourceVersion is too old; list again."""
