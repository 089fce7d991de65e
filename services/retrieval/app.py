"""Composition root of the retrieval service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.retrieval.handlers import posts_deleted, posts_ingested, retrieval_requested
from services.retrieval.settings import RetrievalSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(
    settings: RetrievalSettings, deps: Any = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the retrieval service: handlers, hooks, readiness checks; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="retrieval",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)
    kit.consume("posts.ingested.v1", posts_ingested.make_handler(kit.lifecycle))
    kit.consume("posts.deleted.v1", posts_deleted.make_handler(kit.lifecycle))
    kit.consume("retrieval.requested.v1", retrieval_requested.make_handler(kit.lifecycle))
    return kit.build(deps=deps)
