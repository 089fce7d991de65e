"""The Helm chart: linted, rendered with every values file in ci/ for an explicit Kubernetes
version, every manifest validated with ``kubernetes-validate --strict`` (KEDA and Prometheus
Operator objects against the CRD subsets in crd_schemas/), bad values refused, and what the
rendered objects must say checked against the code they deploy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from contracts.spec import SERVICES
from tests.deploy.conftest import CHART, CI_VALUES, KUBE_VERSION, RELEASE, Render, by_kind
from tests.deploy.settings_names import ROOT, reads

pytestmark = pytest.mark.deploy

CRD_SCHEMAS = Path(__file__).parent / "crd_schemas"
CRD_KINDS = {p.stem for p in CRD_SCHEMAS.glob("*.json")}
BAD_VALUES = sorted((Path(__file__).parent / "bad_values").glob("*.yaml"))
TOPOLOGY = json.loads((CHART / "files/topology.json").read_text())["services"]
FULLNAME = f"{RELEASE}-tgint"
DEFAULTS = CHART / "ci/defaults-values.yaml"


def _values(name: str) -> Path:
    return CHART / "ci" / f"{name}-values.yaml"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_helm_lint_strict(helm: str, values: Path) -> None:
    out = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "-f", str(values), "--kube-version", KUBE_VERSION],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 chart(s) failed" in out.stdout


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_every_manifest_validates(render: Render, values: Path, tmp_path: Path) -> None:
    docs = render(values)
    core = [d for d in docs if d["kind"] not in CRD_KINDS]
    crds = [d for d in docs if d["kind"] in CRD_KINDS]
    manifest = tmp_path / "core.yaml"
    manifest.write_text(yaml.safe_dump_all(core))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "-k",
            KUBE_VERSION,
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(" passed for resource ") == len(core), out.stdout
    for doc in crds:
        schema = json.loads((CRD_SCHEMAS / f"{doc['kind']}.json").read_text())
        jsonschema.Draft7Validator(schema).validate(doc)


def test_crd_schemas_reject_what_the_operators_would() -> None:
    """The hand-kept CRD subsets are strict enough to catch a typo or a wrong value."""
    scaled: dict[str, Any] = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": "k:9092",
                        "consumerGroup": "g",
                        "topic": "t",
                        "lagThreshold": "100",
                    },
                }
            ],
        },
    }
    schema = json.loads((CRD_SCHEMAS / "ScaledObject.json").read_text())
    jsonschema.Draft7Validator(schema).validate(scaled)
    scaled["spec"]["triggers"][0]["metadata"]["lagTreshold"] = "5"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(scaled)
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "1", "for": "5 min"}]}]},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(
            json.loads((CRD_SCHEMAS / "PrometheusRule.json").read_text())
        ).validate(rule)


@pytest.mark.parametrize("bad", BAD_VALUES, ids=lambda p: p.stem)
def test_bad_values_are_refused(render: Render, bad: Path) -> None:
    expected = bad.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        render(DEFAULTS, bad)
    assert expected in failed.value.stderr, failed.value.stderr


def test_defaults_deploy_every_service_with_external_stores(render: Render) -> None:
    docs = render(DEFAULTS)
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert set(by_kind(docs, kind)) == {f"{FULLNAME}-{s}" for s in SERVICES}, kind
    assert not by_kind(docs, "Secret"), "credentials are referenced, never rendered"
    for kind in ("ScaledObject", "HorizontalPodAutoscaler", "ServiceMonitor", "PrometheusRule"):
        assert not by_kind(docs, kind), kind
    retrieval = by_kind(docs, "ConfigMap")[f"{FULLNAME}-retrieval"]["data"]
    assert retrieval["TGI_RETRIEVAL_QDRANT_URL"] == "http://qdrant:6333"
    assert retrieval["TGI_RETRIEVAL_NEO4J_URI"] == "bolt://neo4j:7687"
    shared = by_kind(docs, "ConfigMap")[f"{FULLNAME}-config"]["data"]
    assert shared["TGI_HTTP_HOST"] == "0.0.0.0"
    assert shared["TGI_KAFKA_BOOTSTRAP"].startswith("kafka-0.kafka:9092")
    router = by_kind(docs, "ConfigMap")[f"{FULLNAME}-router"]["data"]
    assert router["TGI_ROUTER_MEMORY_URL"] == f"http://{FULLNAME}-memory:8084"


def test_jobs_are_hooks_that_create_topics_then_migrate(render: Render) -> None:
    jobs = by_kind(render(DEFAULTS), "Job")
    assert set(jobs) == {f"{FULLNAME}-topics", f"{FULLNAME}-migrations"}
    weights = {}
    for name, job in jobs.items():
        notes = job["metadata"]["annotations"]
        assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
        weights[name] = int(notes["helm.sh/hook-weight"])
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "tgint-ops:0.1.0"
        env = {e["name"]: e for e in container["env"]}
        if name.endswith("topics"):
            assert container["args"][:3] == ["python", "-m", "servicekit.topics"]
            assert container["args"][container["args"].index("--replication") + 1] == "3"
            assert "$(TGI_KAFKA_BOOTSTRAP)" in container["args"]
            assert "TGI_KAFKA_BOOTSTRAP" in env
        else:
            assert container["args"] == ["python", "-m", "tools.migrate"]
            assert env["TGI_POSTGRES_DSN"]["valueFrom"]["secretKeyRef"]["name"] == "tgint-postgres"
    assert weights[f"{FULLNAME}-topics"] < weights[f"{FULLNAME}-migrations"]


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_deployments_probe_shut_down_gracefully_and_run_unprivileged(
    render: Render, values: Path
) -> None:
    docs = render(values)
    deployments = by_kind(docs, "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        assert name == f"{FULLNAME}-{service}"
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["python", "-m", f"services.{service}"]
        assert container["image"].startswith(f"tgint-{service}:")
        assert container["ports"] == [
            {"name": "http", "containerPort": TOPOLOGY[service]["port"], "protocol": "TCP"}
        ]
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        # uvicorn drains HTTP for up to 20 s, then FastStream lets in-flight handlers
        # finish for up to 15 s (servicekit/runner.py, servicekit/kafka.py).
        assert pod["terminationGracePeriodSeconds"] >= pre_stop + 20 + 15
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["automountServiceAccountToken"] is False
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_every_variable_is_a_setting_of_the_service_that_gets_it(
    render: Render, values: Path
) -> None:
    docs = render(values)
    maps = by_kind(docs, "ConfigMap")
    shared = maps[f"{FULLNAME}-config"]["data"]
    for name in shared:
        assert any(reads(s, name) for s in SERVICES), f"no service reads {name}"
    for deployment in by_kind(docs, "Deployment").values():
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        own = set(maps[f"{FULLNAME}-{service}"]["data"])
        own |= {e["name"] for e in container["env"]}
        for name in own - {"SSL_CERT_FILE"}:
            assert reads(service, name), f"{service} does not read {name}"
        refs = {r["configMapRef"]["name"] for r in container["envFrom"]}
        assert refs == {f"{FULLNAME}-config", f"{FULLNAME}-{service}"}


def _secret_refs(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def test_every_credential_comes_from_its_secret(render: Render) -> None:
    docs = render(_values("all-secrets"))
    kafka = {
        "TGI_KAFKA_SASL_USERNAME": ("tgint-kafka", "user"),
        "TGI_KAFKA_SASL_PASSWORD": ("tgint-kafka", "pass"),
    }
    base = {"TGI_POSTGRES_DSN": ("tgint-postgres", "url"), **kafka}
    openai = {"TGI_LLM_OPENAI_API_KEY": ("tgint-openai", "api-key")}
    internal = {"TGI_INTERNAL_TOKEN": ("tgint-internal", "api-token")}
    expected = {
        "router": {
            **base,
            **openai,
            **internal,
            "TGI_ROUTER_JWT_SECRET": ("tgint-jwt", "jwt-secret"),
        },
        "retrieval": {
            **base,
            "TGI_RETRIEVAL_NEO4J_USER": ("tgint-neo4j", "username"),
            "TGI_RETRIEVAL_NEO4J_PASSWORD": ("tgint-neo4j", "password"),
            "TGI_RETRIEVAL_QDRANT_API_KEY": ("tgint-qdrant", "api-key"),
            "TGI_RETRIEVAL_GIGACHAT_CREDENTIALS": ("tgint-gigachat", "credentials"),
        },
        "digest": {**base, **openai, **internal},
        "trend": base,
        "memory": {**base, **internal},
        "dlq": {**base, **internal, "TGI_DLQ_API_TOKENS": ("tgint-dlq-operators", "tokens")},
    }
    for service, refs in expected.items():
        deployment = by_kind(docs, "Deployment")[f"{FULLNAME}-{service}"]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert _secret_refs(container) == refs, service
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SSL_CERT_FILE"] == "/etc/tgint/kafka-ca/ca.pem"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == "tgint-kafka-ca"
    topics_job = by_kind(docs, "Job")[f"{FULLNAME}-topics"]
    (container,) = topics_job["spec"]["template"]["spec"]["containers"]
    assert _secret_refs(container) == kafka
    for config in by_kind(docs, "ConfigMap").values():
        for key in config["data"]:
            assert not any(
                w in key for w in ("PASSWORD", "API_KEY", "CREDENTIALS", "SECRET", "DSN", "TOKEN")
            )
    ingress = by_kind(docs, "Ingress")[f"{FULLNAME}-router"]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["tgint.example.internal"], "secretName": "tgint-tls"}
    ]


def test_keda_scales_each_consumer_on_the_lag_of_its_groups(render: Render) -> None:
    docs = render(_values("keda"))
    scaled = by_kind(docs, "ScaledObject")
    assert set(scaled) == {f"{FULLNAME}-{s}" for s in SERVICES if s != "trend"}
    deployments = by_kind(docs, "Deployment")
    for name, obj in scaled.items():
        service = name.removeprefix(f"{FULLNAME}-")
        assert obj["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployments[name]["spec"], "KEDA owns the replica count"
        kafka = [t for t in obj["spec"]["triggers"] if t["type"] == "kafka"]
        assert [(t["metadata"]["topic"], t["metadata"]["consumerGroup"]) for t in kafka] == [
            ("prod." + c["topic"], "prod." + c["group"]) for c in TOPOLOGY[service]["consumes"]
        ]
        for trigger in kafka:
            assert trigger["metadata"]["sasl"] == "scram_sha512"
            assert trigger["metadata"]["tls"] == "enable"
            assert trigger["authenticationRef"] == {"name": f"{FULLNAME}-kafka"}
        most = max(c["partitions"] for c in TOPOLOGY[service]["consumes"])
        if service != "router":
            assert obj["spec"]["maxReplicaCount"] <= most
    assert [t["type"] for t in scaled[f"{FULLNAME}-router"]["spec"]["triggers"]][-1] == "cpu"
    auth = by_kind(docs, "TriggerAuthentication")[f"{FULLNAME}-kafka"]
    assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {
        "username",
        "password",
        "ca",
    }
    trend = deployments[f"{FULLNAME}-trend"]["spec"]
    assert trend["replicas"] == 1
    assert trend["strategy"] == {"type": "Recreate"}


def test_hpa_alternative_scales_on_cpu_and_lag(render: Render) -> None:
    docs = render(_values("hpa"))
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == {f"{FULLNAME}-{s}" for s in SERVICES if s != "trend"}
    assert not by_kind(docs, "ScaledObject")
    for name, hpa in hpas.items():
        service = name.removeprefix(f"{FULLNAME}-")
        metrics = hpa["spec"]["metrics"]
        assert metrics[0]["resource"]["name"] == "cpu"
        external = [m["external"]["metric"]["selector"]["matchLabels"] for m in metrics[1:]]
        if service == "router":
            assert external == []
        else:
            assert external == [
                {"consumergroup": c["group"], "topic": c["topic"]}
                for c in TOPOLOGY[service]["consumes"]
            ]
        assert hpa["spec"]["minReplicas"] == 2


def test_minimal_values_render_a_small_stack(render: Render) -> None:
    docs = render(_values("minimal"))
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {f"{FULLNAME}-{s}" for s in SERVICES if s != "digest"}
    assert not by_kind(docs, "PodDisruptionBudget")
    assert not by_kind(docs, "Job")
    assert not by_kind(docs, "ServiceAccount")
    retrieval = deployments[f"{FULLNAME}-retrieval"]["spec"]["template"]["spec"]
    data = {v["name"]: v for v in retrieval["volumes"]}["data"]
    assert data["persistentVolumeClaim"]["claimName"] == "tgint-retrieval-data"
    router_config = by_kind(docs, "ConfigMap")[f"{FULLNAME}-router"]["data"]
    assert "TGI_ROUTER_DIGEST_URL" not in router_config
    assert (
        "TGI_RETRIEVAL_QDRANT_URL"
        not in by_kind(docs, "ConfigMap")[f"{FULLNAME}-retrieval"]["data"]
    )
    assert (
        by_kind(docs, "ConfigMap")[f"{FULLNAME}-memory"]["data"]["TGI_MEMORY_RETENTION_DAYS"]
        == "30"
    )


def test_monitoring_objects_carry_the_shipped_rules_and_dashboards(render: Render) -> None:
    docs = render(_values("keda"))
    monitor = by_kind(docs, "ServiceMonitor")[FULLNAME]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert {"targetLabel": "job", "replacement": "tgint"} in endpoint["relabelings"]
    rule_files = sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))
    groups = [
        g for f in rule_files for g in (yaml.safe_load(f.read_text()) or {}).get("groups", [])
    ]
    rules = by_kind(docs, "PrometheusRule")
    if groups:
        assert rules[FULLNAME]["spec"]["groups"] == groups
    else:
        assert not rules
    boards = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
    maps = by_kind(docs, "ConfigMap")
    if boards:
        data = maps[f"{FULLNAME}-dashboards"]["data"]
        assert maps[f"{FULLNAME}-dashboards"]["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert data == {b.name: b.read_text().rstrip("\n") for b in boards}
        assert sum(len(v.encode()) for v in data.values()) < 1024 * 1024, "ConfigMap limit"
    else:
        assert f"{FULLNAME}-dashboards" not in maps


def test_prometheus_rule_passes_promtool(helm: str, tmp_path: Path) -> None:
    """The rules survive the trip through the chart (YAML in, YAML out): promtool accepts the
    rendered PrometheusRule's groups (promtool from deploy/prometheus/ensure-promtool.sh)."""
    args = [helm, "template", RELEASE, str(CHART), "-f", str(_values("keda"))]
    args += ["--kube-version", KUBE_VERSION, "--show-only", "templates/prometheusrule.yaml"]
    out = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    groups = yaml.safe_load(out)["spec"]["groups"]
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    promtool = subprocess.run(
        ["bash", str(ROOT / "deploy/prometheus/ensure-promtool.sh")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count = sum(len(g["rules"]) for g in groups)
    assert f"SUCCESS: {count} rules found" in checked.stdout
