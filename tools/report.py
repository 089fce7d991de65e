"""Benchmark and evaluation reports: a printed table, and the same figures as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """p50/p90/p95/p99/max/mean in milliseconds, and n, of durations given in seconds."""
    ms = sorted(s * 1000 for s in samples_s)
    if not ms:
        return {"n": 0}

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 3)

    return {
        "n": len(ms),
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": round(ms[-1], 3),
        "mean": round(statistics.fmean(ms), 3),
    }


def write_report(target: str, figures: dict[str, Any]) -> Path:
    """Write ``reports/<target>.json`` with the figures and where/when they were measured."""
    out = REPO / "reports" / f"{target}.json"
    out.parent.mkdir(exist_ok=True)
    doc = {
        "target": target,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **figures,
    }
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def print_table(title: str, rows: list[tuple[str, dict[str, float]]]) -> None:
    """A fixed-width table of percentile dicts."""
    cols = ["n", "p50", "p90", "p95", "p99", "max", "mean"]
    print(f"\n{title}")
    print(f"  {'metric':<34}" + "".join(f"{c:>10}" for c in cols))
    for name, stats in rows:
        print(f"  {name:<34}" + "".join(f"{stats.get(c, ''):>10}" for c in cols))
