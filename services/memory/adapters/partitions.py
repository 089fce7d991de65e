"""Monthly partitions of ``memory.episodes``: create ahead, drop whole, trim the boundary.

Every DDL runs in a transaction holding one advisory lock, so two replicas never create or
drop the same partition at once, and with a ``lock_timeout``, so maintenance gives up (and
retries at the next run) rather than queue behind long reads and block the writers queued
behind it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

import asyncpg

from servicekit.postgres import PostgresResource
from services.memory.domain.partitions import DEFAULT_PARTITION, Month

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

_LOCK_KEY: Final = 0x6D656D6F7279  # "memory": serialises partition maintenance across replicas
_LOCK_TIMEOUT: Final = "10s"
_LIST: Final = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'memory.episodes'::regclass
"""


class PostgresPartitions:
    """:class:`~services.memory.ports.PartitionStore` on Postgres declarative partitioning."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def months(self) -> list[Month]:
        rows = await self._db.pool.fetch(_LIST)
        return sorted(m for m in (Month.parse(r["relname"]) for r in rows) if m is not None)

    async def create(self, month: Month) -> int:
        table, lo, hi = month.table, _literal(month.start), _literal(month.end)
        async with self._db.pool.acquire() as conn, conn.transaction():
            await _serialise(conn)
            if month in await _months(conn):
                return 0  # another replica made it while we waited for the lock
            # CREATE + ATTACH rather than CREATE … PARTITION OF: attaching takes only a SHARE
            # UPDATE EXCLUSIVE lock on the parent, so ingest and reads go on meanwhile.
            await conn.execute(
                f"CREATE TABLE memory.{table} "
                "(LIKE memory.episodes INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            # With this constraint in place ATTACH need not scan the table to prove the bounds.
            await conn.execute(
                f"ALTER TABLE memory.{table} ADD CONSTRAINT {table}_bounds "
                f"CHECK (occurred_at >= {lo} AND occurred_at < {hi})"
            )
            # Rows of this month that arrived before the partition existed sit in the default
            # partition; ATTACH refuses while they do, so move them. The lock keeps new ones
            # from slipping in between the move and the attach.
            await conn.execute(f"LOCK TABLE memory.{DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE")
            status = await conn.execute(
                f"WITH moved AS (DELETE FROM memory.{DEFAULT_PARTITION} "  # noqa: S608 - names from Month, bounds from datetimes
                f"WHERE occurred_at >= {lo} AND occurred_at < {hi} RETURNING *) "
                f"INSERT INTO memory.{table} SELECT * FROM moved"
            )
            await conn.execute(
                f"ALTER TABLE memory.episodes ATTACH PARTITION memory.{table} "
                f"FOR VALUES FROM ({lo}) TO ({hi})"
            )
        return int(status.rsplit(" ", 1)[-1])

    async def drop(self, month: Month) -> None:
        async with self._db.pool.acquire() as conn, conn.transaction():
            await _serialise(conn)
            # DETACH … CONCURRENTLY would avoid the brief exclusive lock on the parent, but
            # Postgres forbids it while a default partition exists; a monthly drop of a
            # partition nobody writes to any more holds that lock for milliseconds.
            await conn.execute(f"DROP TABLE IF EXISTS memory.{month.table}")

    async def trim(self, table: str, cutoff: datetime, batch: int) -> int:
        if table != DEFAULT_PARTITION and Month.parse(table) is None:
            raise ValueError(f"{table!r} is not a partition of memory.episodes")
        # Each statement deletes at most `batch` rows and commits on its own, so no lock is
        # held long and a huge backlog cannot bloat one transaction.
        sql = (
            f"DELETE FROM memory.{table} WHERE ctid = ANY(ARRAY("  # noqa: S608 - table checked above
            f"SELECT ctid FROM memory.{table} WHERE occurred_at < $1 LIMIT $2))"
        )
        deleted = 0
        while True:
            try:
                status = await self._db.pool.execute(sql, cutoff, batch)
            except asyncpg.UndefinedTableError:
                return deleted  # dropped meanwhile: nothing left to trim
            n = int(status.rsplit(" ", 1)[-1])
            deleted += n
            if n < batch:
                return deleted


async def _serialise(conn: PoolConnectionProxy[asyncpg.Record]) -> None:
    await conn.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


async def _months(conn: PoolConnectionProxy[asyncpg.Record]) -> list[Month]:
    rows = await conn.fetch(_LIST)
    return [m for m in (Month.parse(r["relname"]) for r in rows) if m is not None]


def _literal(when: datetime) -> str:
    """A timestamptz literal; DDL takes no parameters, and these come from ``Month`` bounds."""
    return f"'{when.isoformat()}'::timestamptz"
