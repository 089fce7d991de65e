"""API keys on ``router.api_keys`` (digests only; see ``auth.keys``)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from servicekit.postgres import PostgresResource
from services.router.adapters.pg import TIMEOUT_S, answering
from services.router.domain.model import StoredKey

_COLUMNS: Final = "key_id, tenant_id, user_id, name, created_at, revoked_at"


class PostgresKeys:
    """:class:`~services.router.ports.KeyStore` on Postgres."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def find(self, digest: bytes) -> StoredKey | None:
        async with answering("find key"):
            row = await self._db.pool.fetchrow(
                f"SELECT {_COLUMNS} FROM router.api_keys WHERE key_hash = $1",  # noqa: S608
                digest,
                timeout=TIMEOUT_S,
            )
        return None if row is None else _key(row)

    async def create(
        self, key_id: str, digest: bytes, *, tenant_id: str, user_id: str, name: str
    ) -> StoredKey:
        async with answering("create key"):
            row = await self._db.pool.fetchrow(
                "INSERT INTO router.api_keys (key_id, key_hash, tenant_id, user_id, name)"  # noqa: S608 - constant columns
                f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
                key_id,
                digest,
                tenant_id,
                user_id,
                name,
                timeout=TIMEOUT_S,
            )
        assert row is not None  # INSERT … RETURNING returns the row or raises
        return _key(row)

    async def list(self, tenant_id: str | None = None) -> list[StoredKey]:
        async with answering("list keys"):
            rows = await self._db.pool.fetch(
                f"SELECT {_COLUMNS} FROM router.api_keys"  # noqa: S608
                " WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY created_at, key_id",
                tenant_id,
                timeout=TIMEOUT_S,
            )
        return [_key(r) for r in rows]

    async def revoke(self, key_id: str, when: datetime) -> bool:
        async with answering("revoke key"):
            found = await self._db.pool.fetchval(
                "UPDATE router.api_keys SET revoked_at = coalesce(revoked_at, $2)"
                " WHERE key_id = $1 RETURNING key_id",
                key_id,
                when,
                timeout=TIMEOUT_S,
            )
        return found is not None


def _key(row: asyncpg.Record) -> StoredKey:
    return StoredKey(
        key_id=row["key_id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
