"""Composition root of the memory service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.memory.handlers import lifecycle
from services.memory.settings import MemorySettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(
    settings: MemorySettings, deps: Any = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the memory service: handlers, hooks, readiness checks; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="memory",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)
    kit.consume("lifecycle.v1", lifecycle.make_handler(kit.lifecycle))
    return kit.build(deps=deps)
