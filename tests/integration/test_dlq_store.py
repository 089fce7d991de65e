"""The store behaviour suite against Postgres (the same suite runs on the in-memory fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from servicekit.postgres import PostgresResource
from services.dlq.adapters.pg_operator import PgOperatorStore
from services.dlq.adapters.pg_retry import PgRetryStore
from services.dlq.app import MIGRATIONS
from tests.unit.dlq.store_contract import *  # noqa: F403 - the shared suite
from tests.unit.dlq.store_contract import Stores

pytestmark = pytest.mark.integration


@pytest.fixture
async def stores(pg_dsn: str) -> AsyncIterator[Stores]:
    db = PostgresResource(pg_dsn, schema="dlq", migrations=MIGRATIONS, max_size=12)
    await db.start()
    await db.pool.execute("TRUNCATE dlq.dlq_events")
    try:
        yield Stores(retry=PgRetryStore(lambda: db.pool), ops=PgOperatorStore(lambda: db.pool))
    finally:
        await db.close()
