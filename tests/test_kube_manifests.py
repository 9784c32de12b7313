"""Every YAML manifest parses, and the RBAC for aisetl-tui grants exactly what backend.kube uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

MANIFESTS = Path(__file__).parent.parent / "manifests"
RBAC = MANIFESTS / "rbac"

# (apiGroup, resource) -> verbs: get/list/watch on pods, pods/log, events; get/list on metrics.
EXPECTED = {
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get", "list", "watch"},
    ("", "events"): {"get", "list", "watch"},
    ("metrics.k8s.io", "pods"): {"get", "list"},
}


def _yaml_files() -> list[Path]:
    return sorted(p for p in MANIFESTS.rglob("*") if p.suffix in (".yaml", ".yml"))


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _rbac_docs() -> list[dict]:
    return [d for p in sorted(RBAC.glob("*.y*ml")) for d in _docs(p)]


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(MANIFESTS)))
def test_manifest_parses(path: Path) -> None:
    docs = _docs(path)
    assert docs, f"{path} has no documents"
    assert all(isinstance(d, dict) for d in docs)


def test_rbac_objects() -> None:
    by_kind = {}
    for doc in _rbac_docs():
        assert doc["kind"] not in by_kind, f"two {doc['kind']}s"
        by_kind[doc["kind"]] = doc
    assert set(by_kind) == {"ServiceAccount", "Role", "RoleBinding"}  # no ClusterRole
    sa, role, binding = by_kind["ServiceAccount"], by_kind["Role"], by_kind["RoleBinding"]
    ns = sa["metadata"]["namespace"]
    assert ns == "ais"
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == ns
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns}
    ]


def test_rbac_grants_exactly_what_is_needed() -> None:
    role = next(d for d in _rbac_docs() if d["kind"] == "Role")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, "no resourceNames or URLs"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == EXPECTED
    assert "*" not in str(role["rules"])


def test_namespace_placeholder_is_explained() -> None:
    text = "".join(p.read_text() for p in RBAC.glob("*.y*ml"))
    assert "placeholder" in text


def test_optional_cluster_role_only_lists_pods() -> None:
    docs = _docs(RBAC / "optional" / "aisetl-tui-find-etl-pods.yaml")
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "aisetl-tui", "namespace": "ais"}]
