"""The chart's copies of the alert rules and dashboards (Helm cannot read outside a chart)
and its topology (from the contracts registry) are up to date, and the check notices when
they are not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from contracts.registry import REGISTRY
from tests.deploy.settings_names import ROOT

pytestmark = pytest.mark.deploy

SCRIPT = ROOT / "deploy/helm/sync_files.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_files", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chart_copies_match_their_originals() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_topology_follows_the_registry() -> None:
    services = _load().topology()["services"]
    for spec in REGISTRY.values():
        for consumer in spec.consumers:
            if consumer in services:
                consumed = {c["topic"]: c for c in services[consumer]["consumes"]}
                assert consumed[spec.name]["partitions"] == spec.partitions
    assert {c["group"] for c in services["dlq"]["consumes"]} == {"dlq", "dlq.resolutions"}


def test_check_reports_missing_stale_and_extra_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = _load()
    original, copies = tmp_path / "rules", tmp_path / "chart/files/rules"
    original.mkdir()
    (original / "a.yml").write_text("groups: []\n")
    monkeypatch.setattr(sync, "COPIES", ((original, "*.yml", copies),))
    monkeypatch.setattr(sync, "TOPOLOGY", tmp_path / "chart/files/topology.json")

    assert sorted(sync.differences()) == [
        f"missing {copies / 'a.yml'}",
        f"missing {tmp_path / 'chart/files/topology.json'}",
    ]
    sync.sync()
    assert sync.differences() == []
    (copies / "a.yml").write_text("groups: [changed]\n")
    assert sync.differences() == [f"stale {copies / 'a.yml'}"]
    sync.sync()
    (original / "a.yml").unlink()
    assert sync.differences() == [f"extra {copies / 'a.yml'} (its original is gone)"]
    sync.sync()
    assert not (copies / "a.yml").exists()


def test_the_deployment_guide_lists_each_services_topics_and_partitions() -> None:
    """docs/deployment.md's scaling table says what the registry says."""
    guide = (ROOT / "docs/deployment.md").read_text()
    rows = {
        line.split("|")[1].strip(): line
        for line in guide.splitlines()
        if line.startswith("| ") and line.count("|") >= 5
    }
    for service, info in _load().topology()["services"].items():
        topics = rows[service].split("|")[3]
        for consumed in info["consumes"]:
            assert f"{consumed['topic']} ({consumed['partitions']})" in topics, (service, consumed)
        assert topics.count(" (") == len(info["consumes"]), topics
