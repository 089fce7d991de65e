"""What the observability tests share: promtool, the rule files, the exported metric names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from servicekit.llm import PerformanceMetrics
from servicekit.metrics import build_kit_metrics
from services.digest.metrics import build_digest_metrics
from services.dlq.metrics import build_dlq_metrics
from services.memory.metrics import build_memory_metrics
from services.retrieval.metrics import build_metrics as build_retrieval_metrics
from services.router.metrics import build_router_metrics
from services.router.routing.metrics import build_metrics as build_routing_metrics
from services.trend.metrics import build_trend_metrics

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROM_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROM_DIR / "tests").glob("*_test.yml"))
DOCS = ROOT / "docs" / "observability.md"

#: Series Prometheus makes itself for every target.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
     "unless", "offset", "inf", "nan"}
)  # fmt: skip


def ensure_promtool() -> str:
    """The path of promtool (Debian's package, cached under .cache/prometheus)."""
    out = subprocess.run(
        [str(PROM_DIR / "ensure-promtool.sh")], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"ensure-promtool.sh failed:\n{out.stderr}")
    return out.stdout.strip()


def promtool(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of every rule file."""
    return [
        rule
        for path in RULE_FILES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def _series_names(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        kind = family.type
        if kind == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif kind == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
    return names


def exported_series() -> set[str]:
    """Every series name the runtime and the services register (one registry per service,
    as in the processes), plus what Prometheus adds per target."""
    names: set[str] = set(SCRAPE_SERIES)
    builders = [
        lambda r: build_router_metrics(r, PerformanceMetrics(r)),
        build_routing_metrics,
        build_retrieval_metrics,
        build_memory_metrics,
        build_dlq_metrics,
        build_trend_metrics,
        build_digest_metrics,
    ]
    for build in builders:
        registry = CollectorRegistry()
        build_kit_metrics(registry)
        build(registry)
        names |= _series_names(registry)
    return names


def series_in(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (Grafana macros replaced by durations)."""
    text = re.sub(r"\$__\w+", "5m", expr)
    text = re.sub(r'"[^"]*"', '""', text)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    found = set()
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?!\w)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        found.add(name)
    return found
