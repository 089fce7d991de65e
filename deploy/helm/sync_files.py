"""Keep the chart's copies of files outside it up to date (Helm cannot read outside a chart).

``.venv/bin/python deploy/helm/sync_files.py [--check]`` writes into ``deploy/helm/tgint/files/``:

- ``prometheus/rules/*.yml``: copies of ``deploy/prometheus/rules/*.yml`` (the PrometheusRule);
- ``grafana/dashboards/*.json``: copies of ``deploy/grafana/dashboards/*.json`` (the
  dashboards ConfigMap);
- ``topology.json``: per service its HTTP port and the topics it consumes with their consumer
  group and partitions, from ``contracts/registry.py`` and the services' settings (autoscaling
  triggers and the replica ceiling).

Copies whose original is gone are removed. ``--check`` writes nothing, prints every
difference and exits 1 if there is one (``tests/deploy/test_chart_files.py`` runs it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHART_FILES = ROOT / "deploy/helm/tgint/files"
#: (original folder, glob, copy folder inside files/)
COPIES = (
    (ROOT / "deploy/prometheus/rules", "*.yml", CHART_FILES / "prometheus/rules"),
    (ROOT / "deploy/grafana/dashboards", "*.json", CHART_FILES / "grafana/dashboards"),
)
TOPOLOGY = CHART_FILES / "topology.json"


def topology() -> dict[str, object]:
    """Ports and consumed topics (with consumer group and partitions) of every service."""
    sys.path.insert(0, str(ROOT))
    from contracts.registry import REGISTRY
    from contracts.spec import SERVICES

    # The DLQ service reads lifecycle.v1 in a group of its own (resolutions of its entries).
    dlq_app = importlib.import_module("services.dlq.app")
    extra_groups = {("dlq", "lifecycle.v1"): "dlq" + dlq_app.RESOLUTIONS_GROUP_SUFFIX}
    services: dict[str, object] = {}
    for name in SERVICES:
        module = importlib.import_module(f"services.{name}.settings")
        settings_cls = next(
            obj
            for attr, obj in vars(module).items()
            if attr.endswith("Settings") and getattr(obj, "service_name", None) == name
        )
        consumes = [
            {
                "topic": spec.name,
                "group": extra_groups.get((name, spec.name), name),
                "partitions": spec.partitions,
            }
            for spec in sorted(REGISTRY.values(), key=lambda s: s.name)
            if name in spec.consumers
        ]
        services[name] = {"port": settings_cls.default_http_port, "consumes": consumes}
    return {"generated_by": "deploy/helm/sync_files.py", "services": services}


def wanted() -> dict[Path, bytes]:
    """Every file the chart's files/ folder must hold, with its content."""
    files: dict[Path, bytes] = {}
    for source, pattern, target in COPIES:
        for path in sorted(source.glob(pattern)) if source.is_dir() else []:
            files[target / path.name] = path.read_bytes()
    files[TOPOLOGY] = (json.dumps(topology(), indent=2, sort_keys=True) + "\n").encode()
    return files


def present() -> dict[Path, bytes]:
    """The managed files the chart holds now."""
    found = {TOPOLOGY: TOPOLOGY.read_bytes()} if TOPOLOGY.is_file() else {}
    for _, pattern, target in COPIES:
        for path in sorted(target.glob(pattern)) if target.is_dir() else []:
            found[path] = path.read_bytes()
    return found


def differences() -> list[str]:
    """What is missing, stale or extra in the chart's files/, one line each."""
    want, have = wanted(), present()
    out = []
    for path in sorted(want.keys() | have.keys()):
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if path not in have:
            out.append(f"missing {rel}")
        elif path not in want:
            out.append(f"extra {rel} (its original is gone)")
        elif want[path] != have[path]:
            out.append(f"stale {rel}")
    return out


def sync() -> list[str]:
    """Write what differs; return what changed."""
    changed = differences()
    want = wanted()
    for path in present().keys() - want.keys():
        path.unlink()
    for path, content in want.items():
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 on a difference"
    )
    args = parser.parse_args()
    if args.check:
        diff = differences()
        for line in diff:
            print(line)
        if diff:
            print("run: .venv/bin/python deploy/helm/sync_files.py", file=sys.stderr)
        return 1 if diff else 0
    for line in sync():
        print(f"synced: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
