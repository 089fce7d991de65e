"""Dashboards as code: the committed JSON is what the generator makes, and every query is
valid PromQL (promtool) on series the services export."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.observability.helpers import (
    ROOT,
    ensure_promtool,
    exported_series,
    promtool,
    series_in,
)

pytestmark = pytest.mark.unit

GENERATOR = ROOT / "deploy" / "grafana" / "generate.py"
SEED_PANELS = [
    "Fast Path Latency (P95 Target: < 5s)",
    "LLM Calls per Request (Target: < 3)",
    "Tokens per Request (P95 Target: < 8k)",
    "Agent Steps per Request (P95 ≤ 4)",
    "Smart Path Latency",
    "Request Budget Exceeded",
    "QoS Level Distribution",
    "Cache Hit Rate (%)",
]
SERVICES = ("router", "retrieval", "digest", "trend", "memory", "dlq")


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def committed(generator: ModuleType) -> dict[str, dict[str, Any]]:
    out_dir: Path = generator.OUT_DIR
    return {p.name: json.loads(p.read_text("utf-8")) for p in sorted(out_dir.glob("*.json"))}


def _exprs(board: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def test_committed_json_is_what_the_code_generates(generator: ModuleType) -> None:
    rendered: dict[str, str] = generator.render()
    out_dir: Path = generator.OUT_DIR
    on_disk = {p.name: p.read_text("utf-8") for p in out_dir.glob("*.json")}
    assert sorted(on_disk) == sorted(rendered), "run deploy/grafana/generate.py"
    for name, text in rendered.items():
        assert on_disk[name] == text, f"{name} is stale: run deploy/grafana/generate.py"


def test_check_mode_notices_a_stale_file(
    generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "OUT_DIR", tmp_path)
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
    victim = next(tmp_path.glob("*.json"))
    victim.write_text(victim.read_text("utf-8").replace("30s", "1m"), "utf-8")
    assert generator.main(["--check"]) == 1


def test_the_seeds_eight_panels(committed: dict[str, dict[str, Any]]) -> None:
    board = committed["performance-metrics.json"]
    assert board["title"] == "Performance Metrics – Fast Path & Smart Path"
    assert board["uid"] == "performance-metrics"
    assert board["refresh"] == "30s"
    assert [p["title"] for p in board["panels"]] == SEED_PANELS
    latency = board["panels"][0]
    steps = latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 5, 10]


def test_one_dashboard_per_service(committed: dict[str, dict[str, Any]]) -> None:
    for service in SERVICES:
        board = committed[f"tgint-{service}.json"]
        titles = " | ".join(p["title"] for p in board["panels"]).lower()
        for topic in ("throughput", "errors", "latency", "consumer lag", "dead letters"):
            assert topic in titles, (service, topic)
        for _, expr in _exprs(board):
            if "service=" in expr:
                assert f'service="{service}"' in expr


def test_panels_have_unique_ids_and_the_datasource_variable(
    committed: dict[str, dict[str, Any]],
) -> None:
    uids = [b["uid"] for b in committed.values()]
    assert len(set(uids)) == len(uids)
    for name, board in committed.items():
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids), name
        assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], (name, panel["title"])


def test_every_expression_passes_promtool(
    committed: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """promtool 2.42 has no query checker: each expression becomes a recording rule."""
    rules = []
    for name, board in committed.items():
        for i, (_, expr) in enumerate(_exprs(board)):
            concrete = expr.replace("$__rate_interval", "5m").replace("$__range", "1h")
            assert "$" not in concrete, (name, expr)
            stem = re.sub(r"\W", "_", name.removesuffix(".json"))
            rules.append({"record": f"dashboard:{stem}:{i}", "expr": concrete})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    out = promtool(ensure_promtool(), "check", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(rules)} rules found" in out.stdout


def test_expressions_use_only_series_the_services_export(
    committed: dict[str, dict[str, Any]],
) -> None:
    exported = exported_series()
    histograms = {n.removesuffix("_bucket") for n in exported if n.endswith("_bucket")}
    for name, board in committed.items():
        for title, expr in _exprs(board):
            used = series_in(expr)
            assert used, (name, title)
            assert used <= exported, (name, title, sorted(used - exported))
            assert not used & histograms, (name, title, "average a histogram via _sum/_count")
