"""Fixtures of the deploy tier: a helm binary (built once from the Go module proxy into
.cache/, see deploy/helm/ensure-tools.sh) and the chart rendered with each values file."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/tgint"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
#: Rendered and validated against this Kubernetes version (the newest kubernetes-validate
#: ships schemas for).
KUBE_VERSION = "1.37.0"
RELEASE = "tgi"


@pytest.fixture(scope="session")
def helm(pytestconfig: pytest.Config) -> str:
    """The helm binary's path; its first build prints progress (capture is off meanwhile)."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        out = subprocess.run(
            ["bash", str(ROOT / "deploy/helm/ensure-tools.sh")],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
    return out.stdout.strip()


Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def render(helm: str) -> Render:
    """``render(*values_files, namespace=...)``: the manifests ``helm template`` produces,
    parsed (empty documents dropped). Raises ``subprocess.CalledProcessError`` with helm's
    stderr when rendering fails."""
    cache: dict[tuple[Path, ...], list[dict[str, Any]]] = {}

    def _render(*values: Path) -> list[dict[str, Any]]:
        if values not in cache:
            args = [helm, "template", RELEASE, str(CHART), "--kube-version", KUBE_VERSION]
            args += ["--namespace", "tgint"]
            for path in values:
                args += ["-f", str(path)]
            out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
            cache[values] = [d for d in yaml.safe_load_all(out) if d]
        return cache[values]

    return _render


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The documents of one kind by name."""
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}
