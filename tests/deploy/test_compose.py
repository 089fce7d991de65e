"""The Compose stack, parsed: every server and service, health checks, start-up order by
health, required variables, and settings the services really read."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from contracts.spec import SERVICES
from tests.deploy.settings_names import ROOT, reads, settings_class

pytestmark = pytest.mark.deploy

COMPOSE_DIR = ROOT / "deploy/compose"
TEXT = (COMPOSE_DIR / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(TEXT)
STACK = COMPOSE["services"]
SERVERS = ("kafka", "postgres", "qdrant", "neo4j", "prometheus", "grafana")
JOBS = ("topics", "migrate")
REQUIRED = ("POSTGRES_PASSWORD", "NEO4J_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "INTERNAL_TOKEN")


def test_every_server_job_and_service_is_there() -> None:
    assert set(STACK) == {*SERVERS, *JOBS, *SERVICES}


def test_kafka_runs_in_kraft_mode() -> None:
    env = STACK["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "zookeeper" not in TEXT.lower()
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


@pytest.mark.parametrize("name", [*SERVERS, *SERVICES])
def test_long_running_containers_have_health_checks(name: str) -> None:
    test = STACK[name]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    assert len(test) > 1


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_healthy_when_ready_and_start_after_their_dependencies(name: str) -> None:
    svc = STACK[name]
    port = settings_class(name).default_http_port
    assert f"http://127.0.0.1:{port}/ready" in " ".join(svc["healthcheck"]["test"])
    needs = svc["depends_on"]
    assert needs["kafka"] == {"condition": "service_healthy"}
    assert needs["postgres"] == {"condition": "service_healthy"}
    assert needs["topics"] == {"condition": "service_completed_successfully"}
    assert needs["migrate"] == {"condition": "service_completed_successfully"}
    if name == "retrieval":
        assert needs["neo4j"] == needs["qdrant"] == {"condition": "service_healthy"}
    if name == "router":
        assert needs["memory"] == {"condition": "service_healthy"}
    assert svc["build"] == {"context": "../..", "dockerfile": "Dockerfile", "target": name}
    assert (COMPOSE_DIR / svc["build"]["context"] / "Dockerfile").is_file()
    assert svc["ports"] == [f"127.0.0.1:{port}:{port}"]
    # SIGTERM drains HTTP (20 s) and in-flight messages (15 s) before the process exits.
    assert int(svc["stop_grace_period"].removesuffix("s")) >= 35


def test_every_dependency_waits_for_health_or_completion() -> None:
    for name, svc in STACK.items():
        for target, cond in (svc.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if target in JOBS else "service_healthy"
            assert cond == {"condition": wanted}, (name, target)
            assert target in STACK


def test_jobs_create_topics_and_migrate_with_the_ops_image() -> None:
    assert STACK["topics"]["command"][:3] == ["python", "-m", "servicekit.topics"]
    assert STACK["migrate"]["command"] == ["python", "-m", "tools.migrate"]
    for job in JOBS:
        assert STACK[job]["build"]["target"] == "ops"
        assert STACK[job]["restart"] == "no"


def test_required_variables_fail_fast_and_are_documented() -> None:
    example = (COMPOSE_DIR / ".env.example").read_text()
    for var in REQUIRED:
        assert re.search(r"\$\{" + var + r":\?[^}]+\}", TEXT), var
        assert re.search(rf"^{var}=", example, re.M), var
    # Anything else interpolated has a default; nothing is silently empty.
    for match in re.finditer(r"\$\{([A-Z0-9_]+)(:[-?]|[-?])?[^}]*\}", TEXT):
        name, op = match.group(1), match.group(2)
        assert op in (":?", ":-"), match.group(0)
        if op == ":-":
            assert name == "TGINT_TAG", match.group(0)


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_is_made_of_real_settings(name: str) -> None:
    env = STACK[name]["environment"]
    assert env["TGI_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["TGI_POSTGRES_DSN"].startswith("postgresql://tgint:${POSTGRES_PASSWORD:?")
    assert env["TGI_POSTGRES_DSN"].endswith("@postgres:5432/tgint")
    for var in env:
        assert reads(name, var), f"{name} does not read {var}"


def test_prometheus_scrapes_every_service_and_loads_the_rules() -> None:
    config = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "tgint"]
    targets = {c["labels"]["service"]: c["targets"] for c in job["static_configs"]}
    assert targets == {s: [f"{s}:{settings_class(s).default_http_port}"] for s in SERVICES}
    mounts = dict(v.split(":")[:2] for v in STACK["prometheus"]["volumes"] if v.startswith("."))
    assert (COMPOSE_DIR / "../prometheus/rules").resolve().is_dir()
    assert mounts["../prometheus/rules"] == "/etc/prometheus/rules"
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_grafana_provisions_the_shipped_dashboards() -> None:
    mounts = dict(v.split(":")[:2] for v in STACK["grafana"]["volumes"] if v.startswith("."))
    provider = yaml.safe_load((COMPOSE_DIR / "grafana/dashboards.yml").read_text())
    (entry,) = provider["providers"]
    assert mounts["../grafana/dashboards"] == entry["options"]["path"]
    assert (COMPOSE_DIR / "../grafana/dashboards").resolve().is_dir()
    sources = yaml.safe_load((COMPOSE_DIR / "grafana/datasources.yml").read_text())
    (prom,) = sources["datasources"]
    assert prom["url"] == "http://prometheus:9090"
    assert prom["isDefault"] is True
    for key, target in mounts.items():
        assert (COMPOSE_DIR / key).resolve().exists(), key
        assert target.startswith("/")
