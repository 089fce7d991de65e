"""Composition root of the router service: the REST gateway, the fast path, the Kafka query
flow, and the consumers that finish smart-path runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.llm import LLMClient, PerformanceMetrics, build_llm
from servicekit.postgres import PostgresResource
from services.memory.client import MemoryClient
from services.router.adapters.http_manifest import HttpManifests, NoManifests
from services.router.adapters.kafka_retrieval import KafkaRetriever
from services.router.adapters.kafka_smart import KafkaSmartPath
from services.router.adapters.kafka_trends import KafkaTrends
from services.router.adapters.pg_keys import PostgresKeys
from services.router.adapters.pg_runs import PostgresRuns
from services.router.adapters.pg_turns import PostgresTurns
from services.router.api import errors, query, runs, trends
from services.router.api.limits import BodyLimit
from services.router.api.security import build_security
from services.router.auth.authenticator import Authenticator
from services.router.auth.jwt import JwtVerifier
from services.router.auth.ratelimit import RateLimiter
from services.router.handlers import digest_completed, queries_answered, queries_requested
from services.router.keys import MIGRATIONS
from services.router.metrics import RouterMetrics, build_router_metrics
from services.router.pipeline.answering import Answerer, AnswerTuning
from services.router.pipeline.background import Background
from services.router.pipeline.journal import Journal
from services.router.pipeline.service import PipelineTuning, QueryService
from services.router.pipeline.smart import SmartDispatcher
from services.router.pipeline.status import StatusReporter
from services.router.pipeline.trend_runs import TrendRuns
from services.router.ports import (
    EpisodeReader,
    KeyStore,
    ManifestSource,
    QueryRouter,
    Retriever,
    RunStore,
    SmartPath,
    TurnStore,
)
from services.router.retention import TurnRetention
from services.router.routing import ContextRouter
from services.router.settings import RouterSettings

DESCRIPTION = """\
The front door of tgint: questions over your Telegram channels answered with cited sources
(fast path), digests and trends (smart path), and the status of your runs.

Every endpoint except `/health`, `/ready` and `/metrics` needs a credential:
`Authorization: Bearer <API key or JWT>` or `X-API-Key: <API key>`. The tenant and the user
are taken from the credential, never from the request.
"""


@dataclass(frozen=True)
class RouterDeps:
    """The adapters the service runs on; tests pass fakes, ``None`` builds the real ones.

    ``retriever`` and ``smart`` default to Kafka request/reply on the kit's broker; ``llm``
    None is the offline provider (extractive answers).
    """

    keys: KeyStore
    runs: RunStore
    turns: TurnStore
    router: QueryRouter
    llm: LLMClient | None = None
    retriever: Retriever | None = None
    smart: SmartPath | None = None
    episodes: EpisodeReader | None = None
    manifests: ManifestSource | None = None


@dataclass(frozen=True)
class RouterHandles:
    """What ``ServiceApp.deps`` holds for tests and tools."""

    deps: RouterDeps
    service: QueryService
    metrics: RouterMetrics
    authenticator: Authenticator
    limiter: RateLimiter
    background: Background


def build_app(
    settings: RouterSettings, deps: RouterDeps | None = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the router: Postgres (keys, runs, turns), the context router, the LLM, Kafka
    request/reply to retrieval and trend, the REST API; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    perf = PerformanceMetrics(kit.metrics.registry)
    metrics = build_router_metrics(kit.metrics.registry, perf)
    if deps is None:
        deps = _real_deps(settings, kit, perf)
    retriever = deps.retriever or KafkaRetriever(kit.publisher, kit.rpc())
    smart = deps.smart or _kafka_smart_path(kit)
    background = Background()
    kit.on_shutdown(background.drain)
    for endpoint in (query.ENDPOINT, queries_requested.ENDPOINT):
        perf.declare(path_type="fast_path", endpoint=endpoint)

    trend_runs = TrendRuns(
        smart, deps.runs, kit.clock, background, metrics, timeout_s=settings.trend_timeout_s
    )
    dispatcher = SmartDispatcher(
        smart,
        retriever,
        deps.runs,
        kit.clock,
        trend_runs,
        retrieval_timeout_s=settings.retrieval_timeout_s,
        discovery_top_k=settings.digest_discovery_top_k,
    )
    service = QueryService(
        router=deps.router,
        retriever=retriever,
        answerer=Answerer(deps.llm, _answer_tuning(settings)),
        dispatcher=dispatcher,
        status=StatusReporter(deps.runs, deps.episodes),
        turns=deps.turns,
        journal=Journal(deps.turns, deps.runs, kit.lifecycle, metrics, kit.clock),
        metrics=metrics,
        clock=kit.clock,
        tuning=_pipeline_tuning(settings),
    )
    auth = Authenticator(
        deps.keys,
        _jwt(settings),
        monotonic=kit.clock.monotonic,
        cache_ttl_s=settings.key_cache_ttl_s,
    )
    limiter = RateLimiter(
        settings.rate_limit_per_s,
        settings.rate_limit_burst,
        monotonic=kit.clock.monotonic,
        max_subjects=settings.rate_limit_max_keys,
    )

    kit.consume_batch(
        "queries.requested.v1",
        queries_requested.make_handler(service, deps.runs, kit.publisher),
        max_records=16,
        timeout_ms=20,
    )
    kit.consume("digest.completed.v1", digest_completed.make_handler(deps.runs, metrics, kit.clock))
    kit.consume("queries.answered.v1", queries_answered.make_handler(deps.runs, metrics, kit.clock))
    retention = TurnRetention(
        deps.turns, kit.clock, keep=timedelta(hours=settings.turns_retention_h)
    )
    kit.run_in_background("turn-retention", retention.loop)

    http = FastAPI(title="tgint gateway", version=settings.version, description=DESCRIPTION)
    http.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    errors.install(http)
    principal = build_security(auth, limiter, metrics)
    http.include_router(
        query.build_router(service, principal, timings_header=settings.timings_header)
    )
    http.include_router(
        runs.build_router(deps.runs, dispatcher, deps.manifests or NoManifests(), principal)
    )
    http.include_router(trends.build_router(smart, principal, timeout_s=settings.trend_timeout_s))
    handles = RouterHandles(
        deps=deps,
        service=service,
        metrics=metrics,
        authenticator=auth,
        limiter=limiter,
        background=background,
    )
    return kit.build(http=http, deps=handles)


def _real_deps(settings: RouterSettings, kit: ServiceKit, perf: PerformanceMetrics) -> RouterDeps:
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="router",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)
    llm = build_llm(settings.llm_settings(), metrics=perf, clock=kit.clock)
    if llm is not None:
        kit.on_shutdown(llm.aclose)
    episodes = None
    if settings.memory_url:
        memory = MemoryClient(
            settings.memory_url,
            timeout_s=settings.memory_timeout_s,
            token=settings.internal_token,
            clock=kit.clock,
        )
        kit.on_shutdown(memory.aclose)
        episodes = memory
    manifests: ManifestSource = NoManifests()
    if settings.digest_url:
        http_manifests = HttpManifests(settings.digest_url, token=settings.internal_token)
        kit.on_shutdown(http_manifests.aclose)
        manifests = http_manifests
    return RouterDeps(
        keys=PostgresKeys(db),
        runs=PostgresRuns(db),
        turns=PostgresTurns(db),
        router=ContextRouter(llm=llm, registry=kit.metrics.registry, monotonic=kit.clock.monotonic),
        llm=llm,
        episodes=episodes,
        manifests=manifests,
    )


def _kafka_smart_path(kit: ServiceKit) -> KafkaSmartPath:
    topic = kit.settings.topic(f"replies.router-trends.{kit.instance_id}")
    trends = KafkaTrends(kit.publisher, topic)
    trends.attach(kit)
    return KafkaSmartPath(kit.publisher, trends)


def _jwt(settings: RouterSettings) -> JwtVerifier | None:
    if settings.jwt_secret is None:
        return None
    return JwtVerifier(
        settings.jwt_secret.get_secret_value(),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        leeway_s=settings.jwt_leeway_s,
    )


def _answer_tuning(s: RouterSettings) -> AnswerTuning:
    return AnswerTuning(
        min_sentences=s.answer_min_sentences,
        max_sentences=s.answer_max_sentences,
        llm_timeout_s=s.answer_timeout_s,
        llm_max_tokens=s.answer_max_tokens,
        llm_temperature=s.answer_temperature,
        doc_chars=s.answer_doc_chars,
        history_chars=s.answer_history_chars,
    )


def _pipeline_tuning(s: RouterSettings) -> PipelineTuning:
    return PipelineTuning(
        deadline_s=s.request_deadline_s,
        route_timeout_s=s.route_timeout_s,
        retrieval_timeout_s=s.retrieval_timeout_s,
        top_k=s.retrieval_top_k,
        answer_docs=s.answer_docs,
        history_turns=s.history_turns,
        history_window=timedelta(hours=s.history_window_h),
        max_llm_calls=s.budget_max_llm_calls,
        max_tokens=s.budget_max_tokens,
        max_agent_steps=s.budget_max_agent_steps,
    )
