"""A throwaway Postgres database, for tests and benchmarks that must not share one (retention
deletes by time across a whole table; benchmarks load millions of rows)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def scratch_database(admin_dsn: str, label: str = "scratch") -> AsyncIterator[str]:
    """Create a database, yield its DSN, drop it (even if connections remain)."""
    name = f"tgint_{label}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
