"""``ContextRouter``: query → route, in three stages with a cache in front.

1. Heuristics (``heuristics``): morphology-aware cue patterns, follow-up shape, slash
   commands. Sub-millisecond; decides most queries.
2. Semantic match (``semantic``): a classifier trained on example phrases per route,
   calibrated, with per-route thresholds and a margin; unsure otherwise.
3. LLM (``llm_stage``), only when 1–2 are unsure, under a hard deadline; any failure, or no
   LLM configured (the offline provider), gives the fallback route.

The time window is read from the query on every call, relative to ``context.now``; a
follow-up without its own time phrase keeps the previous turn's window. ``route`` never
raises: an unexpected error in any stage is logged and gives the fallback route.

The cache key is the normalised query (lemma text: lower case, lemmatised, whitespace
collapsed, plus the arithmetic symbols and a leading "/" that the lemma text loses) and, for
a query shaped like a follow-up, the previous route — the only context that changes a route.
It holds the route, never the absolute window (recomputed from ``now``). LLM failures are
not cached, so a provider that recovers is asked again.

Construction trains stage 2 (about 1 s, once per process: navec loads, the classifier
fits); a decision then takes about 0.1 ms (stage 1) to 0.5 ms (stage 2) on one core.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import structlog
from prometheus_client import CollectorRegistry

from servicekit.cache import TtlLru
from servicekit.llm import Budget, LLMClient
from services.router.routing import heuristics, llm_stage, semantic
from services.router.routing.metrics import LlmOutcome, RoutingMetrics, build_metrics
from services.router.routing.model import (
    RouteContext,
    RouteDecision,
    RouteName,
    Stage,
    TimeWindow,
)
from services.router.routing.text import Analysed, analyse, language
from services.router.routing.windows import find_window

_log = structlog.get_logger(__name__)

MAX_QUERY_CHARS: Final = 2000
"""Routing reads the start of a longer query (the gateway bounds queries anyway)."""
FALLBACK_CONFIDENCE: Final = 0.3
_SYMBOLS: Final = re.compile(r"[-+*/=^×]")
_ROUTER_BUDGET_TOKENS: Final = 1000
"""Without a caller's budget, the router's own: one call of this many tokens at most."""
_NO_LLM: Final[LlmOutcome] = "no_llm"


@dataclass(frozen=True, slots=True)
class _Cached:
    """What a decision keeps in the cache: everything but the window and the latency."""

    route: RouteName
    confidence: float
    followup: bool
    escalated: bool


@dataclass(frozen=True, slots=True)
class _Read:
    """A query as every stage sees it."""

    query: Analysed
    rest: str
    window: TimeWindow | None
    followup_shaped: bool


class ContextRouter:
    """Routes queries; see the module docstring. Safe to share across tasks of one loop."""

    def __init__(
        self,
        *,
        llm: LLMClient | None,
        registry: CollectorRegistry | None = None,
        cache_size: int = 10_000,
        cache_ttl_s: float = 3600.0,
        llm_deadline_s: float = 0.8,
        fallback: RouteName = "qa",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if llm_deadline_s <= 0:
            raise ValueError("llm_deadline_s must be > 0")
        self._llm = llm
        self._deadline = llm_deadline_s
        self._fallback: RouteName = fallback
        self._cache: TtlLru[_Cached] = TtlLru(cache_size, cache_ttl_s, monotonic)
        self._metrics: RoutingMetrics = build_metrics(registry or CollectorRegistry())
        self._index = semantic.shipped_index()
        self._thresholds = semantic.load_thresholds()

    async def route(
        self, query: str, context: RouteContext, *, budget: Budget | None = None
    ) -> RouteDecision:
        """The route of ``query`` in ``context``; never raises.

        ``budget`` is charged for the LLM call, if one is made; without one the router uses
        its own (one call). The LLM stage takes at most the deadline given at construction.
        """
        started = time.perf_counter()
        try:
            decision = await self._decide(query, context, budget)
        except Exception:
            _log.exception("routing_failed", query_chars=len(query))
            decision = self._fallback_decision(language(query[:MAX_QUERY_CHARS]))
        seconds = time.perf_counter() - started
        self._metrics.decided(decision.stage, decision.route, seconds)
        return _with_latency(decision, seconds)

    async def _decide(
        self, query: str, context: RouteContext, budget: Budget | None
    ) -> RouteDecision:
        read = _read(query[:MAX_QUERY_CHARS], context)
        key = _cache_key(read, context.previous_route)
        cached = self._cache.get(key)
        if cached is not None:
            self._metrics.cache_hits.inc()
            return self._decision(read, context, cached, "cache")
        self._metrics.cache_misses.inc()
        decision, cacheable = await self._stages(read, context, budget)
        if cacheable:
            value = _Cached(
                decision.route, decision.confidence, decision.followup, decision.escalated
            )
            self._cache.put(key, value)
            self._metrics.cache_size.set(len(self._cache))
        return decision

    async def _stages(
        self, read: _Read, context: RouteContext, budget: Budget | None
    ) -> tuple[RouteDecision, bool]:
        """The decision and whether it may be cached (not when the LLM failed)."""
        verdict = heuristics.decide(
            read.query, read.rest, read.window is not None, context.previous_route
        )
        if verdict.route is not None:
            found = _Cached(verdict.route, verdict.confidence, verdict.followup, False)
            return self._decision(read, context, found, "heuristic"), True
        row = self._index.scores([read.rest], self._thresholds.temperature)[0]
        match = semantic.choose(row, self._thresholds)
        if match.route is not None:
            found = _Cached(match.route, round(min(1.0, match.score), 3), False, False)
            return self._decision(read, context, found, "semantic"), True
        result = await self._ask_llm(read.query.raw, context.previous_route, budget)
        self._metrics.escalated(result.outcome)
        if result.route is not None:
            found = _Cached(result.route, result.confidence, False, True)
            return self._decision(read, context, found, "llm"), True
        fallback = _Cached(self._fallback, FALLBACK_CONFIDENCE, False, True)
        return self._decision(read, context, fallback, "fallback"), result.outcome == "no_llm"

    async def _ask_llm(
        self, query: str, previous: RouteName | None, budget: Budget | None
    ) -> llm_stage.LlmResult:
        if self._llm is None:
            return llm_stage.LlmResult(None, 0.0, _NO_LLM)
        return await llm_stage.classify(
            self._llm,
            query,
            previous,
            budget=budget or Budget(max_llm_calls=1, max_tokens=_ROUTER_BUDGET_TOKENS),
            deadline_s=self._deadline,
        )

    def _decision(
        self, read: _Read, context: RouteContext, found: _Cached, stage: Stage
    ) -> RouteDecision:
        window = read.window
        if window is None and found.followup:
            window = context.previous_window
        return RouteDecision(
            route=found.route,
            confidence=found.confidence,
            stage=stage,
            window=window,
            followup=found.followup,
            language=read.query.language,
            escalated=found.escalated,
            latency_ms=0.0,
        )

    def _fallback_decision(self, lang: str) -> RouteDecision:
        """After an unexpected error: the fallback route, nothing else known."""
        return RouteDecision(
            route=self._fallback,
            confidence=FALLBACK_CONFIDENCE,
            stage="fallback",
            window=None,
            followup=False,
            language=lang,
            escalated=False,
            latency_ms=0.0,
        )


def _read(query: str, context: RouteContext) -> _Read:
    analysed = analyse(query)
    found = find_window(analysed.lemma_text, context.now)
    shaped = heuristics.followup_shaped(found.rest, found.window is not None)
    return _Read(analysed, found.rest, found.window, shaped)


def _cache_key(read: _Read, previous: RouteName | None) -> tuple[str, str, bool, str | None]:
    raw = read.query.raw
    return (
        read.query.lemma_text,
        "".join(_SYMBOLS.findall(raw)),
        raw.lstrip().startswith("/"),
        previous if read.followup_shaped else None,
    )


def _with_latency(decision: RouteDecision, seconds: float) -> RouteDecision:
    return replace(decision, latency_ms=round(seconds * 1000, 3))
