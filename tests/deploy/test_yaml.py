"""Every YAML file under deploy/ parses, and the kustomization lists every manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.files import DEPLOY, K8S, load_all, yaml_files


def test_there_are_yaml_files() -> None:
    names = {p.relative_to(DEPLOY).as_posix() for p in yaml_files()}
    assert {"compose/compose.yaml", "k8s/statefulset.yaml", "prometheus/alerts.yml"} <= names


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_yaml_parses(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_all(K8S / "kustomization.yaml")[0]
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests


def test_every_k8s_object_names_its_kind_and_api() -> None:
    for path in K8S.glob("*.yaml"):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            assert doc.get("apiVersion") and doc.get("kind"), path
            assert doc["metadata"]["name"], path
