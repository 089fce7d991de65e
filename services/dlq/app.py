"""Composition root of the dlq service."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.dlq import api
from services.dlq.adapters.episodes import LifecycleEpisodes
from services.dlq.adapters.kafka import KafkaRetryPublisher
from services.dlq.adapters.pg_operator import PgOperatorStore
from services.dlq.adapters.pg_retry import PgRetryStore
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.handlers import deadletter, lifecycle
from services.dlq.intake import Intake
from services.dlq.metrics import DlqMetrics, build_dlq_metrics
from services.dlq.operator import Operator
from services.dlq.ports import Episodes, OperatorStore, RetryPublisher, RetryStore
from services.dlq.resolution import Resolution
from services.dlq.scheduler import Scheduler
from services.dlq.settings import DlqSettings

MIGRATIONS = Path(__file__).parent / "migrations"
RESOLUTIONS_GROUP_SUFFIX = ".resolutions"
"""The lifecycle subscription has a group of its own, so it sees every lifecycle event (memory
has another) and its rebalances never stall dead-letter intake."""


@dataclass(frozen=True)
class DlqDeps:
    """Replacements for the adapters (tests); anything left None is the real one."""

    retry_store: RetryStore | None = None
    operator_store: OperatorStore | None = None
    publisher: RetryPublisher | None = None
    episodes: Episodes | None = None
    rand: Callable[[], float] | None = None


@dataclass(frozen=True)
class DlqParts:
    """What ``build_app`` wired, for tests and tools (``ServiceApp.deps``)."""

    db: PostgresResource
    retry_store: RetryStore
    operator_store: OperatorStore
    intake: Intake
    resolution: Resolution
    scheduler: Scheduler
    operator: Operator
    metrics: DlqMetrics
    policy: RetryPolicy


def build_app(
    settings: DlqSettings, deps: DlqDeps | None = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the dlq service: intake and resolution consumers, the scheduler, the operator API;
    connects on start (Postgres migrated under an advisory lock, then Kafka)."""
    given = deps or DlqDeps()
    kit = ServiceKit(settings, clock=clock)
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="dlq",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)

    prefix = settings.topic_prefix
    policy = RetryPolicy(
        base_s=settings.retry_base_s,
        max_attempts=settings.max_attempts,
        jitter=settings.retry_jitter,
        max_delay_s=settings.retry_max_delay_s,
    )
    metrics = build_dlq_metrics(kit.metrics.registry)
    retry_store = given.retry_store or PgRetryStore(lambda: db.pool)
    operator_store = given.operator_store or PgOperatorStore(lambda: db.pool)
    episodes = given.episodes or LifecycleEpisodes(kit.lifecycle, prefix)
    publisher = given.publisher or KafkaRetryPublisher(kit.publisher, settings.publish_timeout_s)
    rand = given.rand or random.random

    intake = Intake(
        retry_store, episodes, metrics, policy=policy, prefix=prefix, clock=kit.clock, rand=rand
    )
    resolution = Resolution(retry_store, metrics, prefix=prefix, clock=kit.clock)
    scheduler = Scheduler(
        retry_store,
        publisher,
        metrics,
        owner=kit.instance_id,
        prefix=prefix,
        clock=kit.clock,
        poll_interval_s=settings.poll_interval_s,
        batch_size=settings.batch_size,
        lease_s=settings.lease_s,
        publish_retry_s=min(settings.retry_base_s, 5.0),
        stats_interval_s=settings.stats_interval_s,
    )
    operator = Operator(
        operator_store, episodes, metrics, policy=policy, prefix=prefix, clock=kit.clock
    )

    kit.consume_batch("deadletter.v1", deadletter.make_handler(intake), max_records=200)
    lifecycle.subscribe(
        kit,
        resolution,
        group=settings.group_id + RESOLUTIONS_GROUP_SUFFIX,
        linger_ms=settings.resolution_linger_ms,
    )
    kit.run_in_background("scheduler", scheduler.run)

    http = FastAPI(
        title="dlq",
        summary="Dead letters: storage, retries with exponential backoff, parking, replay",
        version=settings.version,
    )
    api.mount(http, operator, kit.api_guard)
    parts = DlqParts(
        db=db,
        retry_store=retry_store,
        operator_store=operator_store,
        intake=intake,
        resolution=resolution,
        scheduler=scheduler,
        operator=operator,
        metrics=metrics,
        policy=policy,
    )
    return kit.build(http=http, deps=parts)
