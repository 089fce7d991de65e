"""Composition root of the dlq service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.dlq.handlers import deadletter
from services.dlq.settings import DlqSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: DlqSettings, deps: Any = None, *, clock: Clock | None = None) -> ServiceApp:
    """Wire the dlq service: handlers, hooks, readiness checks; connects on start."""
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
    kit.consume("deadletter.v1", deadletter.make_handler(kit.lifecycle))
    return kit.build(deps=deps)
