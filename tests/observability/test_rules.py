"""The alert rules: valid, unit-tested by promtool, documented, on series that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.observability.helpers import (
    DOCS,
    PROM_DIR,
    RULE_FILES,
    RULE_TESTS,
    alert_rules,
    ensure_promtool,
    exported_series,
    load_yaml,
    promtool,
    series_in,
)

pytestmark = pytest.mark.unit

SEED_ALERTS = {
    "FastPathP95LatencyHigh",
    "FastPathP95LatencyCritical",
    "FastPathLLMCallsHigh",
    "FastPathTokensHigh",
    "FastPathAgentStepsHigh",
    "RequestBudgetLLMCallsExceeded",
    "RequestBudgetTokensExceeded",
    "RequestBudgetAgentStepsExceeded",
    "ContextRouterCacheHitRateLow",
    "PerformanceCacheHitRateLow",
}


@pytest.fixture(scope="module")
def promtool_bin() -> str:
    return ensure_promtool()


def test_promtool_is_debians_2_42(promtool_bin: str) -> None:
    out = promtool(promtool_bin, "--version")
    assert out.returncode == 0, out.stderr
    assert "2.42.0" in out.stdout + out.stderr


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(promtool_bin: str, path: Path) -> None:
    out = promtool(promtool_bin, "check", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_test_rules(promtool_bin: str, path: Path) -> None:
    out = promtool(promtool_bin, "test", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_prometheus_config_loads_every_rule_file(promtool_bin: str) -> None:
    out = promtool(promtool_bin, "check", "config", str(PROM_DIR / "prometheus.yml"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in out.stdout


def test_a_broken_rule_fails_promtool(promtool_bin: str, tmp_path: Path) -> None:
    """The check is real: a bad expression is refused."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum by (le rate(x[5m])\n"
    )
    assert promtool(promtool_bin, "check", "rules", str(bad)).returncode != 0


def test_the_seed_alerts_and_the_operational_ones_exist() -> None:
    names = {r["alert"] for r in alert_rules()}
    assert names >= SEED_ALERTS
    for required in (
        "DeadLettersRising",
        "DeadLetterPermanentFailures",
        "ConsumerLagHigh",
        "ServiceDown",
        "RetentionNotRunning",
    ):
        assert required in names
    assert len(names) == len(alert_rules()), "alert names must be unique"


def test_every_alert_has_severity_summary_and_a_documented_runbook() -> None:
    anchors = {
        re.sub(r"[^a-z0-9-]", "", line.lstrip("#").strip().lower().replace(" ", "-"))
        for line in DOCS.read_text("utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page == "docs/observability.md", url
        assert anchor == rule["alert"].lower(), url
        assert anchor in anchors, f"no runbook section for {rule['alert']} in {DOCS}"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {r["alert"] for r in alert_rules()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet"


def test_rules_use_only_series_the_services_export() -> None:
    exported = exported_series()
    for rule in alert_rules():
        used = series_in(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']}: unknown series {sorted(used - exported)}"


def test_histogram_averages_come_from_sum_and_count() -> None:
    """The seed averaged a histogram's base name, a series that does not exist."""
    histograms = {n.removesuffix("_bucket") for n in exported_series() if n.endswith("_bucket")}
    for rule in alert_rules():
        assert not (series_in(rule["expr"]) & histograms), rule["alert"]
