"""Stage 2: a classifier over example phrases per route, per-route thresholds, a margin.

Each route has example phrases (``data/exemplars.jsonl``, disjoint from the labelled
evaluation set). Their features — character n-gram TF-IDF beside navec SIF vectors
(``encoders``) — train a softmax classifier when the stage is built; a query's scores are
its route probabilities. The best route wins only if its probability reaches that route's
threshold *and* leads the runner-up by ``margin``; otherwise the stage is unsure ("no
route", as in semantic-router) and the LLM stage decides. A softmax temperature
(:func:`fit_temperature`), then the thresholds and margin (:func:`fit`), are fitted on the
training split of the labelled set (``python -m tools.eval_router --fit``) and read from
``data/thresholds.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from services.router.routing.encoders import Blend, CharNgrams, Encoder, Matrix, NavecSif
from services.router.routing.model import ROUTES, RouteName
from services.router.routing.text import analyse
from services.router.routing.windows import find_window

_ANY_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)  # phrases are found whatever "now" is
DATA: Final = Path(__file__).resolve().parent / "data"
EPOCHS: Final = 100
L2: Final = 1e-3
LEARNING_RATE: Final = 0.2
ADAM_B1: Final = 0.9
ADAM_B2: Final = 0.999
BLEND_WEIGHT: Final = 0.5
"""Weight of the character n-gram features beside navec's (dot products mix as w and 1−w)."""
TEMPERATURES: Final = tuple(step / 20 for step in range(2, 31))
"""0.10 to 1.50: the grid :func:`fit_temperature` searches."""
MIN_PROBABILITY: Final = 0.5
"""Floor of every fitted threshold: a route must be more likely than all others together.
The training split is mostly queries stage 1 already places, on which the classifier is
rarely wrong, so unfloored thresholds sink to the lowest right answer (0.24 for trend) and
gibberish gets a route."""
WRONG_COST: Final = 3.0
"""Fitting: a wrong route costs three times what a right one gains and unsure costs nothing
(the LLM, or the fallback, decides), so a route must be right at least 3 times in 4."""


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One example phrase of a route (its lemma text, time phrases taken out)."""

    route: RouteName
    text: str


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Minimum probability per route, the lead the best route needs over the runner-up, and
    the softmax temperature that calibrates the classifier's probabilities."""

    per_route: Mapping[RouteName, float]
    margin: float
    temperature: float = 1.0

    def to_json(self) -> dict[str, object]:
        return {
            "per_route": dict(self.per_route),
            "margin": self.margin,
            "temperature": self.temperature,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> Thresholds:
        per_route, margin = doc["per_route"], doc["margin"]
        temperature = doc.get("temperature", 1.0)
        if not isinstance(per_route, dict):
            raise ValueError("thresholds: per_route must be an object")
        if not isinstance(margin, int | float) or not isinstance(temperature, int | float):
            raise ValueError("thresholds: margin and temperature must be numbers")
        unknown = set(per_route) - set(ROUTES)
        if unknown or temperature <= 0:
            raise ValueError(f"thresholds: unknown routes {sorted(unknown)} or temperature ≤ 0")
        per = {r: float(per_route.get(r, 2.0)) for r in ROUTES}
        return cls(per, float(margin), float(temperature))


NEVER: Final = Thresholds({r: 2.0 for r in ROUTES}, 0.0)
"""Thresholds no probability reaches: stage 2 always unsure."""


@dataclass(frozen=True, slots=True)
class Match:
    """Stage 2's answer: the route (None when unsure), its score, and its lead."""

    route: RouteName | None
    score: float
    lead: float
    best: RouteName


class SemanticIndex:
    """A softmax classifier over the example phrases; scores are route probabilities.

    Trained when built (about 0.2 s: Adam, ``EPOCHS`` full-batch steps, L2 ``L2``, from
    zeros, so the same examples give the same model). It replaced nearest-example scoring
    (mean cosine of the 3 nearest examples per route, semantic-router's way): top-1 on the
    test split then 0.88 against 0.80, on a blind round 0.92 against 0.87 — the weights learn
    which n-grams tell routes apart ("what", "which" occur in every route) instead of
    counting them all alike.
    """

    def __init__(self, exemplars: Sequence[Exemplar], encoder: Encoder | None = None) -> None:
        texts = [e.text for e in exemplars]
        self._encoder = encoder or Blend(CharNgrams(texts), NavecSif(), BLEND_WEIGHT)
        labels = np.asarray([ROUTES.index(e.route) for e in exemplars])
        self._weights, self._bias = _train(self._encoder.encode(texts), labels)

    def logits(self, texts: Sequence[str]) -> Matrix:
        """``len(texts) × 6``: each text's route logits, routes in ``ROUTES`` order."""
        out = np.zeros((len(texts), len(ROUTES)), dtype=np.float32)
        for row, vector in enumerate(self._encoder.encode(texts)):
            # A query touches a few hundred of the thousands of n-gram features: gathering
            # their rows beats a dense product (which also trips BLAS threading on 2 cores).
            features = np.flatnonzero(vector)
            out[row] = vector[features] @ self._weights[features] + self._bias
        return out

    def scores(self, texts: Sequence[str], temperature: float = 1.0) -> Matrix:
        """``len(texts) × 6``: route probabilities at ``temperature``."""
        return _softmax(self.logits(texts) / temperature)


def _softmax(logits: Matrix) -> Matrix:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _train(features: Matrix, labels: npt.NDArray[np.int64]) -> tuple[Matrix, Matrix]:
    """Multinomial logistic regression, full-batch Adam: weights (features × 6) and bias."""
    n, dim = features.shape
    onehot = np.eye(len(ROUTES), dtype=np.float32)[labels]
    transposed = np.ascontiguousarray(features.T)
    weights = np.zeros((dim, len(ROUTES)), dtype=np.float32)
    bias = np.zeros(len(ROUTES), dtype=np.float32)
    first = np.zeros_like(weights)
    second = np.zeros_like(weights)
    for step in range(1, EPOCHS + 1):
        error = (_softmax(features @ weights + bias) - onehot) / n
        gradient = transposed @ error + L2 * weights
        first = ADAM_B1 * first + (1 - ADAM_B1) * gradient
        second = ADAM_B2 * second + (1 - ADAM_B2) * gradient * gradient
        scale = LEARNING_RATE / (1 - ADAM_B1**step)
        weights -= scale * first / (np.sqrt(second / (1 - ADAM_B2**step)) + 1e-8)
        bias -= LEARNING_RATE * error.sum(axis=0)
    return weights, bias


def choose(row: Matrix, thresholds: Thresholds) -> Match:
    """The route a score row supports under ``thresholds``, or an unsure match."""
    order = np.argsort(-row)
    best, second = int(order[0]), int(order[1])
    route = ROUTES[best]
    score, lead = float(row[best]), float(row[best] - row[second])
    sure = score >= thresholds.per_route[route] and lead >= thresholds.margin and score > 0
    return Match(route if sure else None, score, lead, route)


def fit(
    rows: Matrix,
    truth: Sequence[RouteName],
    margins: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4),
) -> Thresholds:
    """Per-route thresholds and a margin maximising ``right − WRONG_COST·wrong`` on the
    training rows (unsure counts zero). Each route's threshold is fitted on the rows that
    pick it, then raised to ``MIN_PROBABILITY``; the margin is the best of ``margins`` (the
    smallest on a tie)."""
    best: tuple[float, Thresholds] | None = None
    for margin in margins:
        per_route: dict[RouteName, float] = {}
        total = 0.0
        for route in ROUTES:
            threshold, gain = _fit_route(rows, truth, route, margin)
            per_route[route] = max(threshold, MIN_PROBABILITY)
            total += gain
        if best is None or total > best[0] + 1e-9:
            best = (total, Thresholds(per_route, margin))
    assert best is not None
    return best[1]


def fit_temperature(
    logits: Matrix,
    truth: Sequence[RouteName],
    grid: Sequence[float] = TEMPERATURES,
) -> float:
    """The softmax temperature (from ``grid``) with the least negative log-likelihood of
    ``truth``: the L2-regularised classifier is under-confident at 1.0 (right answers at
    0.35–0.5), so thresholds on raw probabilities leave right answers unsure."""
    index = np.asarray([ROUTES.index(route) for route in truth])
    rows = np.arange(len(index))

    def loss(temperature: float) -> float:
        probabilities = _softmax(logits / temperature)[rows, index]
        return float(-np.log(np.maximum(probabilities, 1e-12)).mean())

    return min(grid, key=loss)


def _fit_route(
    rows: Matrix, truth: Sequence[RouteName], route: RouteName, margin: float
) -> tuple[float, float]:
    """The threshold (2.0: never) with the best gain for ``route``, and that gain."""
    index = ROUTES.index(route)
    candidates: list[tuple[float, bool]] = []
    for row, label in zip(rows, truth, strict=True):
        order = np.argsort(-row)
        if int(order[0]) == index and row[order[0]] - row[order[1]] >= margin:
            candidates.append((float(row[index]), label == route))
    candidates.sort(reverse=True)
    best_gain, best_threshold, gain = 0.0, 2.0, 0.0
    for score, right in candidates:  # lowering the threshold admits one more row at a time
        gain += 1.0 if right else -WRONG_COST
        if gain > best_gain:
            best_gain, best_threshold = gain, score
    return best_threshold, best_gain


def load_exemplars(path: Path = DATA / "exemplars.jsonl") -> list[tuple[RouteName, str]]:
    """``(route, phrase)`` pairs from a JSON-lines file of ``{"route", "text"}`` objects."""
    out: list[tuple[RouteName, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        doc = json.loads(line)
        route = doc["route"]
        if route not in ROUTES:
            raise ValueError(f"{path.name}:{number}: unknown route {route!r}")
        out.append((route, str(doc["text"])))
    return out


def load_thresholds(path: Path = DATA / "thresholds.json") -> Thresholds:
    """The fitted thresholds; ``NEVER`` (stage 2 always unsure) when none were fitted."""
    if not path.exists():
        return NEVER
    return Thresholds.from_json(json.loads(path.read_text(encoding="utf-8")))


def rest_of(text: str) -> str:
    """What stage 2 compares: the lemma text with its time phrases taken out."""
    return find_window(analyse(text).lemma_text, _ANY_TIME).rest


@cache
def shipped_index() -> SemanticIndex:
    """The index of the shipped examples, built once per process (navec loads in ~0.5 s)."""
    return SemanticIndex([Exemplar(route, rest_of(text)) for route, text in load_exemplars()])
