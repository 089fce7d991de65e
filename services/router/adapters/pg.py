"""What the Postgres adapters share: which failures mean "the store did not answer"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import asyncpg

from services.router.errors import StoreUnavailable

UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.QueryCanceledError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)
TIMEOUT_S: Final = 2.0
"""Statement timeout of the gateway's queries: all are point lookups or short index scans."""


@asynccontextmanager
async def answering(what: str) -> AsyncIterator[None]:
    """Turn an outage of Postgres inside the block into :class:`StoreUnavailable`."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"postgres did not answer ({what}): {type(exc).__name__}") from exc
