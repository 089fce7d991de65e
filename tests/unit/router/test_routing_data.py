"""The shipped data: labelled set, example phrases, fitted thresholds; stage 2's fitting."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, get_args

import numpy as np
import pytest

from contracts.v1.queries import Route
from services.router.routing import ROUTES, semantic

pytestmark = pytest.mark.unit

_LABEL = re.compile(
    r"today|this morning|yesterday|day before yesterday|last \d+(?:h|d|w|mo|y)|\d+d ago"
    r"|week|month|year|this (?:week|month|year)|last (?:week|month|year)|weekend"
    r"|since (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)


FIELDS = {"query", "route", "lang", "window", "previous_route", "tag", "split", "round"}


def labelled() -> list[dict[str, Any]]:
    text = (semantic.DATA / "labelled.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_routes_are_the_contracts() -> None:
    assert get_args(Route) == ROUTES


def test_labelled_set_covers_every_route_in_both_languages() -> None:
    cases = labelled()
    assert len(cases) >= 300
    pairs = {(route, lang) for route in ROUTES for lang in ("ru", "en")}
    assert {(c["route"], c["lang"]) for c in cases} == pairs
    assert Counter(c["split"] for c in cases).keys() == {"train", "test"}
    assert sum("previous_route" in c for c in cases) >= 30
    assert sum("window" in c for c in cases) >= 100


def test_labelled_records_are_well_formed() -> None:
    seen = set()
    for case in labelled():
        assert set(case) <= FIELDS
        assert case["route"] in ROUTES
        assert case.get("previous_route", "qa") in ROUTES
        assert _LABEL.fullmatch(case.get("window", "today")), case
        key = (case["query"].lower(), case.get("previous_route"))
        assert key not in seen, case
        seen.add(key)


def test_exemplars_are_disjoint_from_the_labelled_queries() -> None:
    """Compared as stage 2 sees them: lemmas, time phrases taken out."""
    asked = {semantic.rest_of(c["query"]) for c in labelled()}
    examples = semantic.load_exemplars()
    assert {route for route, _ in examples} == set(ROUTES)
    assert [text for _, text in examples if semantic.rest_of(text) in asked] == []


def test_shipped_thresholds() -> None:
    thresholds = semantic.load_thresholds()
    assert set(thresholds.per_route) == set(ROUTES)
    assert all(semantic.MIN_PROBABILITY <= t <= 2.0 for t in thresholds.per_route.values())
    assert 0.0 <= thresholds.margin < 1.0


def test_fit_keeps_wrong_answers_below_the_threshold() -> None:
    def row(route: str, score: float) -> list[float]:
        out = [0.0] * len(ROUTES)
        out[ROUTES.index(route)] = score
        return out

    rows = np.asarray(
        [row("trend", 0.95), row("trend", 0.9), row("trend", 0.8), row("trend", 0.7),
         row("trend", 0.6), row("digest", 0.97)],
        dtype=np.float32,
    )  # fmt: skip
    truth = ["trend", "trend", "qa", "trend", "trend", "digest"]
    thresholds = semantic.fit(rows, truth)  # type: ignore[arg-type]
    assert thresholds.per_route["trend"] == pytest.approx(0.9)  # 0.8 was wrong: 2-1·3 < 2
    assert thresholds.per_route["digest"] == pytest.approx(0.97)
    assert thresholds.per_route["help"] == 2.0  # never picked: never sure


def test_fit_never_goes_below_the_floor() -> None:
    rows = np.asarray([[0.3, 0.1, 0.1, 0.1, 0.2, 0.2]], dtype=np.float32)
    assert semantic.fit(rows, ["qa"]).per_route["qa"] == semantic.MIN_PROBABILITY


def test_choose_needs_threshold_and_margin() -> None:
    thresholds = semantic.Thresholds(dict.fromkeys(ROUTES, 0.5), margin=0.2)
    sure = semantic.choose(np.asarray([0.7, 0.1, 0.1, 0.05, 0.03, 0.02], np.float32), thresholds)
    close = semantic.choose(np.asarray([0.55, 0.4, 0.05, 0.0, 0.0, 0.0], np.float32), thresholds)
    low = semantic.choose(np.asarray([0.45, 0.1, 0.1, 0.1, 0.1, 0.15], np.float32), thresholds)
    assert (sure.route, close.route, low.route) == ("qa", None, None)
    assert close.best == "qa"


def test_temperature_sharpens_an_under_confident_classifier() -> None:
    right = np.asarray([[2.0, 1.0, 1.0, 1.0, 1.0, 1.0]] * 10, dtype=np.float32)
    assert semantic.fit_temperature(right, ["qa"] * 10) == min(semantic.TEMPERATURES)
    wrong = np.asarray([[1.0, 2.0, 1.0, 1.0, 1.0, 1.0]] * 4, dtype=np.float32)
    mixed = semantic.fit_temperature(np.vstack([right, wrong]), ["qa"] * 14)
    assert min(semantic.TEMPERATURES) < mixed <= max(semantic.TEMPERATURES)


def test_thresholds_round_trip_through_json() -> None:
    thresholds = semantic.Thresholds(dict.fromkeys(ROUTES, 0.6), margin=0.1, temperature=0.4)
    assert semantic.Thresholds.from_json(thresholds.to_json()) == thresholds
    with pytest.raises(ValueError, match="unknown routes"):
        semantic.Thresholds.from_json({"per_route": {"weather": 0.5}, "margin": 0.0})
