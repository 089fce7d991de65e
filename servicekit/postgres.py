"""asyncpg pools and versioned SQL migrations, one schema per service.

Migrations are files ``NNNN_description.sql`` in a service's ``migrations/`` folder, applied in
order at start-up inside a transaction each, under a Postgres advisory lock so two replicas
starting together never race. Applied versions are recorded in ``<schema>.schema_migrations``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg

from servicekit.logging import get_logger

_log = get_logger(__name__)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections time out rather than hang; raises if Postgres is unreachable.

    A released connection is not sent asyncpg's reset query (``pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL``), one more round trip per query on a busy path: our code keeps
    no session state on pooled connections (settings are ``SET LOCAL``, cursors live in
    transactions, no ``LISTEN``, the migration lock is released explicitly). An open transaction
    is still rolled back by the pool.
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=5,
        command_timeout=30,
        reset=_keep_session,
    )
    if pool is None:  # pragma: no cover - asyncpg returns None only when not awaited
        raise RuntimeError("asyncpg.create_pool returned None")
    return pool


async def _keep_session(_: asyncpg.Connection) -> None:
    """The pool's reset hook: nothing beyond asyncpg's own rollback of an open transaction."""


async def migrate(pool: asyncpg.Pool, schema: str, folder: Path) -> list[str]:
    """Apply pending migrations of ``folder`` to ``schema``; return the versions applied.

    Raises ``ValueError`` if an applied migration's file changed since (checksum mismatch).
    """
    if not _SCHEMA.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    files = _migration_files(folder)
    lock_key = int.from_bytes(hashlib.sha256(schema.encode()).digest()[:8], "big", signed=True)
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                r["version"]: r["checksum"]
                for r in await conn.fetch(
                    f"SELECT version, checksum FROM {schema}.schema_migrations"  # noqa: S608 - schema matched _SCHEMA
                )
            }
            for path, sql in files:
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                version = path.stem
                if version in done:
                    if done[version] != checksum:
                        raise ValueError(
                            f"migration {schema}/{path.name} changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL search_path TO {schema}, public")
                    await conn.execute(sql)
                    await conn.execute(
                        f"INSERT INTO {schema}.schema_migrations (version, checksum)"  # noqa: S608
                        " VALUES ($1, $2)",
                        version,
                        checksum,
                    )
                applied.append(version)
                _log.info("migration_applied", schema=schema, version=version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied


def _migration_files(folder: Path) -> list[tuple[Path, str]]:
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.glob("*.sql") if _NAME.match(p.name))
    return [(p, p.read_text(encoding="utf-8")) for p in paths]


class PostgresResource:
    """A service's Postgres pool: opened and migrated at start-up, checked by ``/ready``."""

    def __init__(
        self, dsn: str, *, schema: str, migrations: Path | None, max_size: int = 10
    ) -> None:
        self._dsn = dsn
        self.schema = schema
        self._migrations = migrations
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        """The open pool; raises ``RuntimeError`` before :meth:`start`."""
        if self._pool is None:
            raise RuntimeError("postgres pool used before start-up")
        return self._pool

    async def start(self) -> None:
        """Open the pool and apply migrations. Raises if Postgres is unreachable."""
        if self._pool is None:
            self._pool = await create_pool(self._dsn, max_size=self._max_size)
        if self._migrations is not None:
            await migrate(self._pool, self.schema, self._migrations)

    async def check(self) -> None:
        """Raise unless a trivial query succeeds within 2 s."""
        await self.pool.fetchval("SELECT 1", timeout=2)

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
