"""Kubernetes: AIStore's transformer pods and its own pods, their events, logs and metrics.

    kube = KubeClient(context=None, namespace="ais")        # kubeconfig or in-cluster
    pods = kube.etl_pods("md5-etl", smap_target_ids)       # {target id: KubePod | None}
    for ev in kube.pod_events(pods["TqVt8081"].name): ...
    for line in kube.follow_logs(name, stop=stop_event): ...
    usage = kube.pod_metrics()                              # dict | MetricsUnavailable

Everything is synchronous and thread-safe, meant for thread workers; every call has a
timeout. Failures are :class:`KubeError` (tree in :mod:`backend.kube._errors`).

The ``kubernetes`` package is imported on first use, not when this package is imported,
so the app starts without paying for it (about half a second).
"""

from ._client import KubeClient
from ._config import quiet_urllib3
from ._convert import (
    ETL_SELECTOR,
    main_container,
    match_etl_pods,
    match_transformer_pods,
    pod_from_dict,
    split_etl_pod_name,
)
from ._errors import (
    KubeApiError,
    KubeConfigError,
    KubeError,
    KubeForbidden,
    KubeGone,
    KubeNotFound,
    KubeTimeout,
    KubeUnauthorized,
    KubeUnreachable,
)
from ._models import (
    KubeContainer,
    KubeEvent,
    KubePod,
    MetricsUnavailable,
    PodChange,
    PodMetrics,
)

__all__ = [
    "ETL_SELECTOR",
    "KubeApiError",
    "KubeClient",
    "KubeConfigError",
    "KubeContainer",
    "KubeError",
    "KubeEvent",
    "KubeForbidden",
    "KubeGone",
    "KubeNotFound",
    "KubePod",
    "KubeTimeout",
    "KubeUnauthorized",
    "KubeUnreachable",
    "MetricsUnavailable",
    "PodChange",
    "PodMetrics",
    "main_container",
    "match_etl_pods",
    "match_transformer_pods",
    "pod_from_dict",
    "quiet_urllib3",
    "split_etl_pod_name",
]
