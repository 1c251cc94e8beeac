"""The compose stack, read from compose.yaml (no Docker engine here to run it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.deploy.files import ALERTS, COMPOSE_FILE, COMPOSE_PROMETHEUS, compose
from tests.ops.prom import require

PINNED = re.compile(r"^[\w./-]+:v?\d+(\.\d+)+$")


def services() -> dict[str, dict]:
    return compose()["services"]


def mounts(service: str) -> dict[str, Path]:
    """container path -> host path, for the bind mounts (relative paths) of ``service``."""
    result = {}
    for volume in services()[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            result[target] = (COMPOSE_FILE.parent / source).resolve()
    return result


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def test_services() -> None:
    assert set(services()) == {"kafka", "worker", "collector", "prometheus", "grafana"}


def test_images_are_pinned_to_explicit_versions() -> None:
    images = {name: svc["image"] for name, svc in services().items()}
    for name, image in images.items():
        assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
    assert images["kafka"].startswith("apache/kafka:4.")
    assert images["prometheus"].startswith("prom/prometheus:v3.")
    assert images["grafana"].startswith("grafana/grafana:")


def test_kafka_is_a_single_kraft_node() -> None:
    env = services()["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == 1, key
    assert "KAFKA_PORT" not in env  # the apache/kafka image refuses it


def test_two_workers_in_one_group_built_from_the_dockerfile() -> None:
    worker = services()["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert (
        COMPOSE_FILE.parent / worker["build"]["context"] / worker["build"]["dockerfile"]
    ).is_file()
    env = worker["environment"]
    assert env["JOURNEYS_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["JOURNEYS_WEB_HOST"] == "0.0.0.0"
    assert env["JOURNEYS_APP_ID"]  # one consumer group for every replica
    assert "volumes" not in worker  # replicas must not share one RocksDB directory
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_stop_grace_period_exceeds_the_worker_shutdown_timeout() -> None:
    worker = services()["worker"]
    timeout = float(worker["environment"]["JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS"])
    assert seconds(worker["stop_grace_period"]) >= timeout + 5


def test_prometheus_uses_the_projects_alert_rules() -> None:
    volumes = mounts("prometheus")
    assert volumes["/etc/prometheus/alerts.yml"] == ALERTS.resolve()
    assert volumes["/etc/prometheus/prometheus.yml"] == COMPOSE_PROMETHEUS.resolve()
    config = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "journeys"  # the alerts select job="journeys"
    [sd] = job["dns_sd_configs"]
    assert sd["names"] == ["worker"]
    assert sd["port"] == int(services()["worker"]["environment"]["JOURNEYS_WEB_PORT"])


def test_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require("promtool")
    shutil.copy(COMPOSE_PROMETHEUS, tmp_path / "prometheus.yml")
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_mounts_exist_and_match_the_provisioning() -> None:
    volumes = mounts("grafana")
    assert volumes["/etc/grafana/provisioning"].is_dir()
    dashboards = volumes["/var/lib/grafana/dashboards/journeys"]
    assert (dashboards / "journeys.json").is_file()
    provider = yaml.safe_load(
        (volumes["/etc/grafana/provisioning"] / "dashboards" / "journeys.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/journeys"
    assert services()["grafana"]["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"


def test_published_ports_are_loopback_only() -> None:
    for name, svc in services().items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
