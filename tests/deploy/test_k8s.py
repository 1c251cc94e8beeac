"""The Kubernetes manifests: consistency between the objects, and one source of rules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

import yaml

from tests.deploy.files import ALERTS, K8S, k8s_object, k8s_objects

WORKER_LABELS = {"app.kubernetes.io/name": "journeys", "app.kubernetes.io/component": "worker"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_prometheusrule", K8S / "gen_prometheusrule.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def container() -> dict:
    statefulset = k8s_object("StatefulSet", "journeys-worker")
    [worker] = statefulset["spec"]["template"]["spec"]["containers"]
    return worker


def settings() -> dict[str, str]:
    return k8s_object("ConfigMap", "journeys-settings")["data"]


def test_prometheusrule_matches_alerts_yml() -> None:
    rule = k8s_object("PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"], (
        "deploy/k8s/prometheusrule.yaml is stale: run deploy/k8s/gen_prometheusrule.py"
    )


def test_prometheusrule_file_is_the_generators_output() -> None:
    assert (K8S / "prometheusrule.yaml").read_text() == generator().render()
    result = subprocess.run(
        [sys.executable, str(K8S / "gen_prometheusrule.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_configmap_values_are_valid_settings() -> None:
    from streams.settings import Settings

    values = {k.removeprefix("JOURNEYS_").lower(): v for k, v in settings().items()}
    parsed = Settings(**values, sasl_password="from-the-secret")
    assert parsed.security_protocol == "SASL_SSL"
    assert parsed.web_host == "0.0.0.0"
    assert str(parsed.data_dir) == container()["volumeMounts"][0]["mountPath"]


def test_statefulset_keeps_rocksdb_state_on_a_volume_claim() -> None:
    statefulset = k8s_object("StatefulSet", "journeys-worker")
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == settings()["JOURNEYS_DATA_DIR"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_grace_period_exceeds_the_graceful_stop() -> None:
    pod = k8s_object("StatefulSet", "journeys-worker")["spec"]["template"]["spec"]
    timeout = float(settings()["JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] >= timeout + 5


def test_probes() -> None:
    worker = container()
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert ports["web"] == int(settings()["JOURNEYS_WEB_PORT"])
    assert ports["metrics"] == int(settings()["JOURNEYS_METRICS_PORT"])
    assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "web"}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "web"}
    assert worker["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "web"}
    assert worker["resources"]["requests"] and worker["resources"]["limits"]


def test_secret_and_configmap_references_resolve() -> None:
    worker = container()
    [source] = worker["envFrom"]
    assert source["configMapRef"]["name"] == "journeys-settings"
    secret = k8s_object("Secret", "journeys-kafka")
    refs = [e["valueFrom"]["secretKeyRef"] for e in worker["env"] if "valueFrom" in e]
    assert refs and all(r["name"] == "journeys-kafka" for r in refs)
    assert all(r["key"] in secret["stringData"] for r in refs)
    assert {e["name"] for e in worker["env"]} == {"JOURNEYS_SASL_PASSWORD"}
    assert all("CHANGE-ME" in value for value in secret["stringData"].values())


def test_services_select_the_workers() -> None:
    statefulset = k8s_object("StatefulSet", "journeys-worker")
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert statefulset["spec"]["selector"]["matchLabels"] == WORKER_LABELS
    assert WORKER_LABELS.items() <= pod_labels.items()
    web = k8s_object("Service", "journeys-web")
    assert statefulset["spec"]["serviceName"] == "journeys-web"
    assert web["spec"]["clusterIP"] == "None"
    metrics = k8s_object("Service", "journeys-metrics")
    port_names = {p["name"] for p in container()["ports"]}
    for service in (web, metrics):
        assert service["spec"]["selector"] == WORKER_LABELS
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    pdb = k8s_object("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == WORKER_LABELS


def test_servicemonitor_scrapes_the_metrics_service_as_job_journeys() -> None:
    monitor = k8s_object("ServiceMonitor")
    metrics = k8s_object("Service", "journeys-metrics")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= metrics["metadata"]["labels"].items()
    assert (
        not selector.items() <= k8s_object("Service", "journeys-web")["metadata"]["labels"].items()
    )
    # the alert rules select job="journeys"
    assert metrics["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "journeys"
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in metrics["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_everything_lands_in_one_namespace() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    namespace = k8s_object("Namespace")["metadata"]["name"]
    assert kustomization["namespace"] == namespace
    assert all("namespace" not in o["metadata"] for o in k8s_objects())
