"""Composition root of the digest service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.llm import LLMClient, build_llm
from servicekit.postgres import PostgresResource
from services.digest import api
from services.digest.adapters.kafka_requests import KafkaDigestRequests
from services.digest.adapters.postgres_posts import PostgresPostSource
from services.digest.adapters.postgres_schedules import PostgresScheduleStore
from services.digest.adapters.postgres_store import PostgresRunStore
from services.digest.handlers import digest_requested, retrieval_completed
from services.digest.metrics import DigestMetrics, build_digest_metrics
from services.digest.ports import PostSource
from services.digest.runner import DigestRunner, StepHook
from services.digest.schedules import api as schedules_api
from services.digest.schedules.loop import ScheduleLoop
from services.digest.schedules.manage import Schedules
from services.digest.settings import DigestSettings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class DigestDeps:
    """What tests may replace: the post source (default: ``retrieval.posts``), the LLM
    (default: from settings; None is the offline provider) and a hook after each step."""

    posts: PostSource | None = None
    llm: LLMClient | None = None
    after_step: StepHook | None = None


@dataclass(frozen=True)
class DigestHandles:
    """What ``ServiceApp.deps`` holds for tests and tools."""

    runner: DigestRunner
    store: PostgresRunStore
    metrics: DigestMetrics
    schedules: Schedules
    schedule_loop: ScheduleLoop


def build_app(
    settings: DigestSettings, deps: DigestDeps | None = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the digest service: Postgres (migrations), the runner, the consumers, the
    schedule loop (a background task) and the HTTP API (manifests, schedules). The LLM is
    built from settings unless ``deps`` gives one."""
    deps = deps or DigestDeps()
    kit = ServiceKit(settings, clock=clock)
    metrics = build_digest_metrics(kit.metrics.registry)
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="digest",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)
    llm = deps.llm
    if llm is None:
        built = build_llm(settings.llm_settings(), metrics=metrics.perf, clock=kit.clock)
        if built is not None:
            kit.on_shutdown(built.aclose)
        llm = built
    store = PostgresRunStore(db)
    runner = DigestRunner(
        deps.posts or PostgresPostSource(db),
        store,
        llm=llm,
        params=settings.run_params(),
        after_step=deps.after_step,
    )
    kit.consume(
        "digest.requested.v1",
        digest_requested.make_handler(runner, kit.publisher, kit.lifecycle, metrics, kit.clock),
    )
    kit.consume("retrieval.completed.v1", retrieval_completed.make_handler(kit.lifecycle))
    schedule_store = PostgresScheduleStore(db, deployment=settings.topic_prefix)
    schedules = Schedules(schedule_store, kit.clock)
    loop = ScheduleLoop(
        schedule_store,
        KafkaDigestRequests(kit.publisher, timeout_s=settings.schedule_publish_timeout_s),
        metrics.schedules,
        kit.clock,
        settings.loop_params(),
    )
    kit.run_in_background("schedules", loop.run)
    http = FastAPI(title="digest")
    guard = [Depends(kit.api_guard)]
    http.include_router(api.build_router(store), dependencies=guard)
    http.include_router(schedules_api.build_router(schedules), dependencies=guard)
    handles = DigestHandles(
        runner=runner, store=store, metrics=metrics, schedules=schedules, schedule_loop=loop
    )
    return kit.build(http, deps=handles)
