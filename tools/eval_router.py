"""Context router accuracy on the labelled set, with the offline provider (no LLM).

``python -m tools.eval_router`` routes every query of
``services/router/routing/data/labelled.jsonl`` with ``llm=None`` on a cold cache, at a fixed
``now`` (Wednesday 2025-03-12 15:00 UTC, so window labels are stable), and reports accuracy
overall, per route, per split, language and tag; the share of queries stages 1–2 left unsure
(escalated to the LLM stage: with no LLM they take the fallback route ``qa``); the stage
distribution; time-window accuracy; routing latency p50/p95 (cold cache, and again warm from
the cache); a confusion matrix; and stage 2 on its own on the held-out split. Printed as
tables and written to ``reports/eval-router.json``.

``--fit`` first fits stage 2's per-route thresholds and margin on the ``train`` split and
writes ``services/router/routing/data/thresholds.json``; the ``test`` split is held out.
Stage 1's patterns were written by hand alongside the labelled set, so its figures on
either split are development figures, not a blind estimate: read the ``test`` split as
held out for the fitted thresholds only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from prometheus_client import CollectorRegistry

from services.router.routing import (
    ROUTES,
    ContextRouter,
    RouteContext,
    RouteDecision,
    RouteName,
    semantic,
)
from tools.report import percentiles_ms, write_report

LABELLED: Final = semantic.DATA / "labelled.jsonl"
THRESHOLDS: Final = semantic.DATA / "thresholds.json"
NOW: Final = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled query."""

    query: str
    route: RouteName
    lang: str
    window: str | None
    previous_route: RouteName | None
    split: str
    round: str
    tag: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    decision: RouteDecision

    @property
    def right(self) -> bool:
        return self.decision.route == self.case.route

    @property
    def window_right(self) -> bool:
        got = self.decision.window.label if self.decision.window else None
        return got == self.case.window


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc = json.loads(line)
            cases.append(
                Case(
                    query=doc["query"],
                    route=doc["route"],
                    lang=doc["lang"],
                    window=doc.get("window"),
                    previous_route=doc.get("previous_route"),
                    split=doc["split"],
                    round=doc["round"],
                    tag=doc.get("tag"),
                )
            )
    return cases


def fit(cases: Sequence[Case]) -> semantic.Thresholds:
    """Fit stage 2 on the train split (follow-ups left out: they need context, not words)."""
    train = [c for c in cases if c.split == "train" and c.previous_route is None]
    truth = [c.route for c in train]
    logits = semantic.shipped_index().logits([semantic.rest_of(c.query) for c in train])
    temperature = semantic.fit_temperature(logits, truth)
    rows = semantic.shipped_index().scores([semantic.rest_of(c.query) for c in train], temperature)
    thresholds = replace(semantic.fit(rows, truth), temperature=temperature)
    doc = {
        **thresholds.to_json(),
        "fitted_on": f"labelled.jsonl split=train ({len(train)} queries, follow-ups left out)",
        "objective": f"temperature: least NLL; thresholds: right - {semantic.WRONG_COST:g}"
        f" * wrong, unsure 0, floor {semantic.MIN_PROBABILITY:g}",
        "epochs": semantic.EPOCHS,
        "l2": semantic.L2,
        "blend_weight": semantic.BLEND_WEIGHT,
    }
    THRESHOLDS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"fitted on {len(train)} train queries → {THRESHOLDS}", file=sys.stderr)
    return thresholds


def context(case: Case) -> RouteContext:
    return RouteContext(now=NOW, previous_route=case.previous_route)


async def route_all(cases: Sequence[Case]) -> tuple[list[Outcome], list[float]]:
    """Every case on a cold cache (a new router each), then once more warm (cache hits)."""
    warm = ContextRouter(llm=None, registry=CollectorRegistry())
    await warm.route("прогрев", RouteContext(now=NOW))  # loads the models before timing
    outcomes: list[Outcome] = []
    for case in cases:
        router = ContextRouter(llm=None, registry=CollectorRegistry())
        outcomes.append(Outcome(case, await router.route(case.query, context(case))))
        await warm.route(case.query, context(case))
    hits: list[float] = []
    for case in cases:
        started = time.perf_counter()
        await warm.route(case.query, context(case))
        hits.append(time.perf_counter() - started)
    return outcomes, hits


def accuracy(outcomes: Sequence[Outcome]) -> dict[str, float]:
    n = len(outcomes)
    return {"n": n, "accuracy": round(sum(o.right for o in outcomes) / n, 4) if n else 0.0}


def grouped(outcomes: Sequence[Outcome], key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        value = getattr(o.case, key)
        groups[str(value) if value is not None else "-"].append(o)
    return {k: accuracy(v) for k, v in sorted(groups.items())}


def per_route(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float]]:
    """Recall (accuracy on the route's queries), precision and F1 per route."""
    out: dict[str, dict[str, float]] = {}
    for route in ROUTES:
        truth = [o for o in outcomes if o.case.route == route]
        said = [o for o in outcomes if o.decision.route == route]
        right = sum(o.right for o in truth)
        recall = right / len(truth) if truth else 0.0
        precision = right / len(said) if said else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[route] = {
            "n": len(truth),
            "accuracy": round(recall, 4),
            "precision": round(precision, 4),
            "f1": round(f1, 4),
        }
    return out


def confusion(outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = {t: dict.fromkeys(ROUTES, 0) for t in ROUTES}
    for o in outcomes:
        matrix[o.case.route][o.decision.route] += 1
    return matrix


def windows(outcomes: Sequence[Outcome]) -> dict[str, float]:
    with_window = [o for o in outcomes if o.case.window is not None]
    without = [o for o in outcomes if o.case.window is None]
    return {
        "accuracy": round(sum(o.window_right for o in outcomes) / len(outcomes), 4),
        "with_phrase_n": len(with_window),
        "with_phrase_accuracy": round(
            sum(o.window_right for o in with_window) / len(with_window), 4
        ),
        "without_phrase_n": len(without),
        "spurious_windows": sum(not o.window_right for o in without),
    }


def semantic_alone(cases: Sequence[Case]) -> dict[str, Any]:
    """Stage 2 by itself on the held-out split: coverage (sure) and precision when sure."""
    held = [c for c in cases if c.split == "test" and c.previous_route is None]
    thresholds = semantic.load_thresholds()
    texts = [semantic.rest_of(c.query) for c in held]
    rows = semantic.shipped_index().scores(texts, thresholds.temperature)
    matches = [semantic.choose(row, thresholds) for row in rows]
    sure = [(m, c) for m, c in zip(matches, held, strict=True) if m.route is not None]
    top1 = sum(m.best == c.route for m, c in zip(matches, held, strict=True))
    return {
        "n": len(held),
        "top1_accuracy": round(top1 / len(held), 4),
        "coverage": round(len(sure) / len(held), 4),
        "precision_when_sure": round(sum(m.route == c.route for m, c in sure) / len(sure), 4)
        if sure
        else None,
    }


def evaluate(cases: Sequence[Case]) -> dict[str, Any]:
    outcomes, hits = asyncio.run(route_all(cases))
    stages = Counter(o.decision.stage for o in outcomes)
    by_stage: dict[str, list[float]] = defaultdict(list)
    for o in outcomes:
        by_stage[o.decision.stage].append(o.decision.latency_ms / 1000)
    return {
        "now": NOW.isoformat(),
        "provider": "offline (llm=None)",
        "overall": accuracy(outcomes),
        "per_route": per_route(outcomes),
        "per_split": grouped(outcomes, "split"),
        "per_round": grouped(outcomes, "round"),
        "per_language": grouped(outcomes, "lang"),
        "per_tag": grouped(outcomes, "tag"),
        "escalated_share": round(sum(o.decision.escalated for o in outcomes) / len(outcomes), 4),
        "stages": dict(stages.most_common()),
        "windows": windows(outcomes),
        "latency_ms": {
            "cold": percentiles_ms([o.decision.latency_ms / 1000 for o in outcomes]),
            "warm_cache_hit": percentiles_ms(hits),
            **{f"stage_{k}": percentiles_ms(v) for k, v in sorted(by_stage.items())},
        },
        "confusion": confusion(outcomes),
        "semantic_alone_test": semantic_alone(cases),
        "thresholds": semantic.load_thresholds().to_json(),
        "errors": [
            {"query": o.case.query, "want": o.case.route, "got": o.decision.route}
            | {"stage": o.decision.stage}
            for o in outcomes
            if not o.right
        ],
    }


def print_tables(figures: dict[str, Any]) -> None:
    overall = figures["overall"]
    print(f"\ncontext router, offline provider, {overall['n']} labelled queries")
    escalated, windows = figures["escalated_share"], figures["windows"]["accuracy"]
    print(
        f"  accuracy {overall['accuracy']:.3f}   escalated to the LLM stage {escalated:.1%}"
        f"   windows {windows:.3f}"
    )
    print(f"\n  {'route':<12}{'n':>5}{'accuracy':>10}{'precision':>11}{'f1':>7}")
    for route, row in figures["per_route"].items():
        print(f"  {route:<12}{row['n']:>5}{row['accuracy']:>10.3f}{row['precision']:>11.3f}"
              f"{row['f1']:>7.3f}")  # fmt: skip
    for title in ("per_split", "per_round", "per_language", "per_tag"):
        groups = figures[title].items()
        cells = "  ".join(f"{k} {v['accuracy']:.3f} (n={v['n']})" for k, v in groups)
        print(f"  {title:<13}{cells}")
    print("  stages       " + "  ".join(f"{k} {v}" for k, v in figures["stages"].items()))
    latency = figures["latency_ms"]
    print("\n  latency ms   " + "  ".join(
        f"{k}: p50 {v['p50']} p95 {v['p95']}" for k, v in latency.items() if v.get("n")
    ))  # fmt: skip
    print("\n  confusion (rows: labelled, columns: routed)")
    print("  " + " " * 12 + "".join(f"{r[:6]:>8}" for r in ROUTES))
    for truth, row in figures["confusion"].items():
        print(f"  {truth:<12}" + "".join(f"{row[r]:>8}" for r in ROUTES))
    sem = figures["semantic_alone_test"]
    print(f"\n  stage 2 alone on the test split: top-1 {sem['top1_accuracy']:.3f}, sure on "
          f"{sem['coverage']:.1%}, precision when sure {sem['precision_when_sure']}")  # fmt: skip
    for error in figures["errors"]:
        print(f"  ✗ {error['want']:>11} → {error['got']:<11} [{error['stage']}] {error['query']}")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.eval_router", description=__doc__)
    parser.add_argument(
        "--fit", action="store_true", help="fit stage 2 thresholds on the train split first"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    cases = load_cases()
    if args.fit:
        fit(cases)
    figures = evaluate(cases)
    print_tables(figures)
    out = write_report("eval-router", figures)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
