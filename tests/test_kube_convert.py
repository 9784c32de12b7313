"""backend.kube's pure conversions: pod states in words, target matching, quantities, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.kube import match_etl_pods, match_transformer_pods, pod_from_dict, split_etl_pod_name
from backend.kube._client import _log_time_key
from backend.kube._convert import _quantity, metrics_from_dict, parse_time

PODS = json.loads((Path(__file__).parent / "data" / "kube" / "pods.json").read_text())["items"]


def _pod(name: str) -> dict:
    return json.loads(json.dumps(next(p for p in PODS if p["metadata"]["name"] == name)))


def test_prefix_pitfall_without_server() -> None:
    pods = [pod_from_dict(p) for p in PODS]
    assert split_etl_pod_name("md5-etl-2-tqvt8081", "TqVt8081") == "md5-etl-2"
    assert split_etl_pod_name("md5-etl-2-tqvt8081", "yBnt8082") == ""
    got = match_etl_pods(pods, "md5-etl", ["TqVt8081"])
    assert got["TqVt8081"] is not None and got["TqVt8081"].name == "md5-etl-tqvt8081"
    # target IDs whose lowercase is a suffix of another's: the label decides
    assert [p.target_id for p in match_transformer_pods(pods, ["Vt8081", "TqVt8081"])
            if p.etl == "md5-etl"] == ["TqVt8081"]


def test_roles() -> None:
    roles = {p["metadata"]["name"]: pod_from_dict(p).role for p in PODS}
    assert roles["md5-etl-tqvt8081"] == "etl"
    assert roles["demo-ais-proxy-0"] == "proxy"
    assert roles["old-ais-target-0"] == "target"
    assert roles["nginx-proxy-7d9f8c-x2x7q"] == ""


def test_roles_by_aistores_type_label() -> None:
    """AIStore's dev manifests: app=ais with type=proxy|target; ETL pods carry app=ais too."""
    def role(labels: dict[str, str], name: str = "ais-node") -> str:
        return pod_from_dict({"metadata": {"name": name, "labels": labels}}).role

    assert role({"app": "ais", "type": "proxy"}) == "proxy"
    assert role({"app": "ais", "type": "target"}) == "target"
    assert role({"app": "ais"}) == ""  # app=ais alone is no role
    assert role({"app": "ais", "app.kubernetes.io/name": "etl", "type": "target"}) == "etl"
    assert role({"app": "web", "type": "proxy"}) == ""  # someone else's `type`


def test_terminated_oomkilled_and_terminating() -> None:
    raw = _pod("md5-etl-ybnt8082")
    cs = raw["status"]["containerStatuses"][0]
    cs["state"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    pod = pod_from_dict(raw)
    assert (pod.reason, pod.message) == ("OOMKilled", "exit code 137")
    raw["metadata"]["deletionTimestamp"] = "2025-06-01T10:40:00Z"
    deleting = pod_from_dict(raw)
    assert deleting.reason == "Terminating"
    # what it was before its deletion began: why its target deleted it
    assert (deleting.cause, deleting.cause_message) == ("OOMKilled", "exit code 137")


def test_init_container_and_not_ready() -> None:
    raw = _pod("md5-etl-tqvt8081")
    raw["status"]["initContainerStatuses"] = [{
        "name": "init", "ready": False, "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}},
    }]
    assert pod_from_dict(raw).reason == "Init:CrashLoopBackOff"
    raw = _pod("md5-etl-tqvt8081")
    raw["status"]["containerStatuses"][0]["ready"] = False
    assert pod_from_dict(raw).reason == "NotReady"


def test_empty_pod_does_not_crash() -> None:
    pod = pod_from_dict({"metadata": {"name": "x"}})
    assert (pod.name, pod.phase, pod.reason, pod.created, pod.age_seconds) == (
        "x", "Unknown", "Unknown", None, None)


def test_quantities_and_metrics() -> None:
    assert _quantity("250000000n") == 0.25
    assert _quantity("1500m") == 1.5
    assert _quantity("2") == 2
    assert _quantity("52340Ki") == 52340 * 1024
    assert _quantity("1G") == 1e9
    assert _quantity("garbage") == 0.0
    m = metrics_from_dict({"metadata": {"name": "p"}, "window": "1m0.5s", "containers": [
        {"name": "a", "usage": {"cpu": "100m", "memory": "1Mi"}},
        {"name": "b", "usage": {"cpu": "50m", "memory": "1Mi"}},
    ]})
    assert m.cpu_cores == pytest.approx(0.15)
    assert (m.memory_bytes, m.window_seconds) == (2 * 2**20, 60.5)


def test_times() -> None:
    assert parse_time("2025-06-01T10:00:00Z") == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert parse_time("2025-06-01T10:00:00.123456789Z") == datetime(
        2025, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("yesterday") is None
    a = _log_time_key("2025-06-01T10:00:04.2Z")
    b = _log_time_key("2025-06-01T10:00:04.100200000Z")
    c = _log_time_key("2025-06-01T10:00:04.200000001Z")
    assert a is not None and b is not None and c is not None
    assert b < a < c
    assert _log_time_key("INFO: hello") is None


def test_main_container_is_the_etls_not_a_sidecar() -> None:
    def pod(etl: str, *names: str) -> dict:
        labels = {"app.kubernetes.io/name": "etl", "nvidia.com/ais-etl-target": "T1"}
        return {"metadata": {"name": f"{etl or 'x'}-t1", "labels": labels if etl else {}},
                "spec": {"containers": [{"name": n} for n in names]}}

    from backend.kube import main_container
    etl_pod = pod_from_dict(pod("md5-etl", "istio-proxy", "md5-etl"))
    assert etl_pod.etl == "md5-etl" and main_container(etl_pod) == "md5-etl"
    assert main_container(pod_from_dict(pod("md5-etl", "md5-etl", "istio-proxy"))) == "md5-etl"
    assert main_container(pod_from_dict(pod("", "istio-proxy", "server"))) == "server"
    assert main_container(pod_from_dict(pod("", "only"))) == "only"
    assert main_container(pod_from_dict(pod(""))) is None


def test_gone_pods_are_kept_then_forgotten() -> None:
    from aisetl_tui.screens.pods import GONE_KEEP, GONE_MAX, GonePod, merge, note_gone

    pod = pod_from_dict(_pod("md5-etl-ybnt8082"))
    key = ("md5-etl", "yBnt8082")
    gone: dict = {}
    note_gone(gone, {key: pod}, {}, now=100.0)  # listed before, not now: gone at 100
    assert gone[key].when == 100.0 and gone[key].pod.name == pod.name
    [row] = merge([], {}, None, gone)
    assert (row.kube, row.gone) == (None, gone[key])
    note_gone(gone, {}, {}, now=100.0 + GONE_KEEP + 1)  # an hour later: forgotten
    assert gone == {}
    note_gone(gone, {key: pod}, {}, now=200.0)
    note_gone(gone, {}, {key: pod}, now=201.0)  # back (a re-init): no longer gone
    assert gone == {}
    many = {(f"e{i}", "t"): GonePod(pod, float(i)) for i in range(GONE_MAX + 5)}
    note_gone(many, {}, {}, now=float(GONE_MAX + 5))
    assert len(many) == GONE_MAX and ("e0", "t") not in many  # the oldest go first
