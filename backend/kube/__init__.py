"""Kubernetes: AIStore's transformer pods and its own pods, their events, logs and metrics.
What the app asks, each from a thread worker:

    kube = KubeClient(context=None, namespace=None)      # kubeconfig or in-cluster
    kube.find_etl_namespace()                            # where AIStore's ETL pods are
    pods = kube.transformer_pods(smap_target_ids)        # every ETL's pods (Pods screen)
    for change in kube.watch_etl_pods(stop=stop): ...    # then their changes, as they happen
    by_target = kube.etl_pods("md5-etl", smap_target_ids)  # one ETL's, per target (init watch)
    events = kube.pod_events(pod.name)
    for line in kube.follow_logs(pod.name, stop=stop, tail_lines=500): ...
    usage = kube.pod_metrics(ETL_SELECTOR)               # dict | MetricsUnavailable
    nodes = kube.ais_pods()                              # AIStore's proxies and targets

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
