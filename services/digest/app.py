"""Composition root of the digest service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.digest.handlers import digest_requested, retrieval_completed
from services.digest.settings import DigestSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(
    settings: DigestSettings, deps: Any = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the digest service: handlers, hooks, readiness checks; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    db = PostgresResource(
        str(settings.postgres_dsn),
        schema="digest",
        migrations=MIGRATIONS,
        max_size=settings.postgres_pool_size,
    )
    kit.on_startup("postgres", db.start)
    kit.on_shutdown(db.close)
    kit.add_readiness_check("postgres", db.check)
    kit.consume("digest.requested.v1", digest_requested.make_handler(kit.lifecycle))
    kit.consume("retrieval.completed.v1", retrieval_completed.make_handler(kit.lifecycle))
    return kit.build(deps=deps)
