"""Composition root of the trend service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.trend.handlers import posts_indexed, trend_requested
from services.trend.settings import TrendSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(
    settings: TrendSettings, deps: Any = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the trend service: handlers, hooks, readiness checks; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="trend",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)
    kit.consume("posts.indexed.v1", posts_indexed.make_handler(kit.lifecycle))
    kit.consume("trend.requested.v1", trend_requested.make_handler(kit.lifecycle))
    return kit.build(deps=deps)
