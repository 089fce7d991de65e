"""The query pipeline: history → route → (retrieve → answer) | smart path | status | help.

One :class:`QueryService` serves ``POST /v1/rag/query`` and ``queries.requested.v1``. The
fast path is a micro-plan of at most three agent steps (route, retrieve, answer), each
charged to the request's :class:`~servicekit.llm.Budget` before it runs; a step the budget
refuses runs in its cheapest deterministic form instead (fallback route, extractive answer)
and the answer says it was degraded. Every hop is timed.

Failures of optional parts degrade the answer and are listed in ``degraded``: conversation
history (``history``), the router (fallback route ``qa``), the LLM (``llm``, ``budget``),
retrieval legs (``retrieval.<leg>``). Retrieval not answering at all gives status ``failed``
(``retrieval`` degraded): there is nothing to cite. Postgres being down while recording the
turn is logged and counted, not fatal; while reading or writing a smart-path run it raises
``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from contracts.envelope import Envelope
from contracts.v1.common import Usage
from contracts.v1.queries import Budget as RequestBudget
from contracts.v1.queries import QueryStatus, Route
from contracts.v1.retrieval import RetrievalFilters, RetrieveDocuments
from servicekit.clock import Clock
from servicekit.llm import Budget, BudgetExceeded
from servicekit.logging import get_logger
from services.router.domain import texts
from services.router.domain.model import Principal, Turn, Window
from services.router.domain.text import language as guess_language
from services.router.domain.timings import Hops
from services.router.errors import RetrievalUnavailable, StoreUnavailable
from services.router.metrics import RouterMetrics
from services.router.pipeline.answering import Answerer
from services.router.pipeline.context import NO_LLM, as_route, time_window, usage, window_of
from services.router.pipeline.journal import Journal
from services.router.pipeline.model import AnswerMode, Outcome, QueryInput, RunState
from services.router.pipeline.smart import SmartDispatcher
from services.router.pipeline.status import StatusReporter
from services.router.ports import QueryRouter, Retriever, TurnStore
from services.router.routing import RouteContext, RouteDecision

_log = get_logger(__name__)


@dataclass(frozen=True)
class PipelineTuning:
    """Limits of the pipeline (from the settings)."""

    deadline_s: float = 8.0
    route_timeout_s: float = 1.0
    retrieval_timeout_s: float = 5.0
    top_k: int = 8
    answer_docs: int = 5
    history_turns: int = 5
    history_window: timedelta = timedelta(hours=24)
    max_llm_calls: int = 3
    max_tokens: int = 8000
    max_agent_steps: int = 4


class QueryService:
    """Answers queries for REST and Kafka callers alike."""

    def __init__(
        self,
        *,
        router: QueryRouter,
        retriever: Retriever,
        answerer: Answerer,
        dispatcher: SmartDispatcher,
        status: StatusReporter,
        turns: TurnStore,
        journal: Journal,
        metrics: RouterMetrics,
        clock: Clock,
        tuning: PipelineTuning,
    ) -> None:
        self._router = router
        self._retriever = retriever
        self._answerer = answerer
        self._dispatcher = dispatcher
        self._status = status
        self._turns = turns
        self._journal = journal
        self._metrics = metrics
        self._clock = clock
        self._t = tuning

    async def answer(
        self,
        principal: Principal,
        query: QueryInput,
        *,
        run_id: str,
        endpoint: str,
        hops: Hops | None = None,
        cause: Envelope[Any] | None = None,
    ) -> Outcome:
        """Answer ``query`` for ``principal`` as run ``run_id``. Raises ``StoreUnavailable``
        (smart-path run not recorded) or ``DispatchFailed`` (smart-path command not sent)."""
        state = RunState(principal, query, run_id, hops or Hops(), self._budget(query.budget))
        started_at = self._clock.now()
        try:
            outcome = await self._run(state)
        except Exception as exc:
            await self._journal.failed(state, started_at, exc, cause)
            raise
        # Fixed before recording, so the stored answer (re-published on redelivery) and the
        # first one are the same bytes; ``timings["total"]`` includes the recording.
        outcome.latency_ms = int(state.hops.elapsed_s() * 1000)
        with state.hops.hop("record"):
            await self._journal.finished(state, outcome, started_at, cause)
        outcome.timings = state.hops.rounded()
        self._journal.observe(state, outcome, endpoint)
        return outcome

    # -- the plan ---------------------------------------------------------------------------

    async def _run(self, s: RunState) -> Outcome:
        with s.hops.hop("history"):
            s.history = await self._history(s)
        previous = s.history[0] if s.history else None
        context = RouteContext(
            now=self._clock.now(),
            previous_route=as_route(previous.route) if previous else None,
            previous_window=time_window(previous.window) if previous else None,
            previous_query=previous.query if previous else None,
        )
        with s.hops.hop("route"):
            decision = await self._route(s, context)
        window = window_of(s.query, decision.window)
        language = s.query.language or decision.language
        route: Route = decision.route
        base = Outcome(
            run_id=s.run_id,
            query_id=s.query.query_id,
            route=route,
            status="answered",
            answer="",
            language=language,
            qos_requested=s.query.qos,
            path_type="fast_path",
            mode="fixed",
            usage=Usage(),
            window=window,
            followup=decision.followup,
            stage=decision.stage,
            confidence=decision.confidence,
        )
        if route in ("digest", "trend") and s.query.qos != "fast":
            return await self._smart(s, base, route, window, language)
        if route in ("qa", "digest", "trend"):
            query_text = s.query.text
            if decision.followup and context.previous_query:
                query_text = f"{context.previous_query} {s.query.text}"[:2000]
            return await self._fast(s, base, query_text, window, language)
        if route == "memory":
            with s.hops.hop("status"):
                text = await self._status.answer(s.principal, s.query.text, language)
            return self._done(s, base, "answered", text)
        if route == "help":
            return self._done(s, base, "answered", texts.HELP[texts.lang(language)])
        return self._done(s, base, "rejected", texts.UNSUPPORTED[texts.lang(language)])

    async def _fast(
        self, s: RunState, base: Outcome, query_text: str, window: Window | None, language: str
    ) -> Outcome:
        self._step(s)
        request = RetrieveDocuments(
            request_id=s.run_id,
            query=query_text,
            domain="qa",
            top_k=self._t.top_k,
            filters=RetrievalFilters(
                channels=list(s.query.channels) if s.query.channels else None,
                since=window.since if window else None,
                until=window.until if window else None,
            ),
        )
        timeout_s = max(0.05, min(self._t.retrieval_timeout_s, self._remaining(s)))
        with s.hops.hop("retrieval"):
            try:
                found = await self._retriever.retrieve(
                    s.principal.tenant_id, request, correlation_id=s.run_id, timeout_s=timeout_s
                )
            except RetrievalUnavailable as exc:
                _log.warning("retrieval_unavailable", run_id=s.run_id, error=str(exc)[:200])
                self._metrics.dependency_failures.labels("retrieval").inc()
                s.degraded.append("retrieval")
                text = {
                    "ru": "Поиск сейчас недоступен, попробуйте ещё раз через минуту.",
                    "en": "Search is unavailable right now; please try again in a minute.",
                }[texts.lang(language)]
                return self._done(s, base, "failed", text, mode="none")
        # Part of the round trip: the search inside the retrieval service (its own clock);
        # the rest is Kafka, queueing and the reply.
        s.hops.add("search", float(found.took_ms))
        s.degraded.extend(f"retrieval.{leg}" for leg in found.degraded_legs)
        docs = found.documents[: self._t.answer_docs]
        if not docs:
            return self._done(s, base, "no_results", texts.nothing_found(language, window), "none")
        allow_llm = self._step(s)
        with s.hops.hop("answer"):
            composed = await self._answerer.compose(
                s.query.text,
                docs,
                s.history,
                budget=s.budget if allow_llm else NO_LLM,
                remaining_s=self._remaining(s),
                language=language,
            )
        s.degraded.extend(composed.degraded)
        if not composed.text:
            return self._done(s, base, "no_results", texts.nothing_found(language, window), "none")
        out = self._done(s, base, "answered", composed.text, mode=composed.mode)
        out.sources = composed.sources
        out.usage = usage(s.budget, composed.tokens_in, composed.tokens_out)
        return out

    async def _smart(
        self,
        s: RunState,
        base: Outcome,
        route: Literal["digest", "trend"],
        window: Window | None,
        language: str,
    ) -> Outcome:
        self._step(s)
        with s.hops.hop("dispatch"):
            try:
                sent = await self._dispatcher.dispatch(
                    s.principal, s.query, route, run_id=s.run_id, window=window, language=language
                )
            except RetrievalUnavailable:
                self._metrics.dependency_failures.labels("retrieval").inc()
                s.degraded.append("retrieval")
                return self._done(s, base, "failed", texts.nothing_found(language, window), "none")
        if not sent.accepted:
            return self._done(s, base, "no_results", texts.nothing_found(language, window), "none")
        out = self._done(s, base, "accepted", sent.answer)
        out.path_type = "smart_path"
        return out

    # -- steps ------------------------------------------------------------------------------

    async def _history(self, s: RunState) -> list[Turn]:
        if self._t.history_turns <= 0:
            return []
        since = self._clock.now() - self._t.history_window
        try:
            return await self._turns.recent(
                s.principal.tenant_id, s.principal.user_id, since, self._t.history_turns
            )
        except StoreUnavailable as exc:
            _log.warning("history_unavailable", error=str(exc)[:200])
            self._metrics.dependency_failures.labels("postgres").inc()
            s.degraded.append("history")
            return []

    async def _route(self, s: RunState, context: RouteContext) -> RouteDecision:
        if self._step(s):
            try:
                async with asyncio.timeout(self._t.route_timeout_s):
                    return await self._router.route(s.query.text, context, budget=s.budget)
            except Exception as exc:  # routing is advice: any failure means the fallback route
                _log.warning("router_failed", error=repr(exc)[:200])
                self._metrics.dependency_failures.labels("router").inc()
                s.degraded.append("router")
        return RouteDecision(
            route="qa",
            confidence=0.0,
            stage="fallback",
            window=None,
            followup=False,
            language=guess_language(s.query.text),
            escalated=False,
            latency_ms=0.0,
        )

    def _step(self, s: RunState) -> bool:
        """Charge one agent step; False (and ``budget`` degraded) when the budget refuses."""
        try:
            s.budget.step()
            return True
        except BudgetExceeded:
            if "budget" not in s.degraded:
                s.degraded.append("budget")
            return False

    def _done(
        self,
        s: RunState,
        base: Outcome,
        status: QueryStatus,
        text: str,
        mode: AnswerMode = "fixed",
    ) -> Outcome:
        return replace(
            base,
            status=status,
            answer=text,
            mode=mode,
            usage=usage(s.budget, 0, 0),
            degraded=list(dict.fromkeys(s.degraded)),
        )

    def _budget(self, asked: RequestBudget | None) -> Budget:
        t = self._t
        return Budget(
            max_llm_calls=min(t.max_llm_calls, asked.max_llm_calls if asked else t.max_llm_calls),
            max_tokens=min(t.max_tokens, asked.max_tokens if asked else t.max_tokens),
            max_agent_steps=min(
                t.max_agent_steps, asked.max_agent_steps if asked else t.max_agent_steps
            ),
            path_type="fast_path",
        )

    def _remaining(self, s: RunState) -> float:
        return self._t.deadline_s - s.hops.elapsed_s()
