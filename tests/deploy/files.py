"""Paths and small readers shared by the deployment tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
COMPOSE_PROMETHEUS = DEPLOY / "compose" / "prometheus.yml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
K8S = DEPLOY / "k8s"
LOCAL_SH = DEPLOY / "local.sh"
README = DEPLOY / "README.md"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

ENV_NAME = re.compile(r"\bJOURNEYS_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")


def yaml_files() -> list[Path]:
    """Every YAML file under deploy/ (k8s, compose, prometheus, grafana)."""
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return doc


def k8s_objects() -> list[dict[str, Any]]:
    """Every object of the manifests listed in k8s/kustomization.yaml."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        objects.extend(load_all(K8S / name))
    return objects


def k8s_object(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        o for o in k8s_objects() if o["kind"] == kind and name in (None, o["metadata"]["name"])
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
