"""PostRepository on Postgres: canonical posts in ``retrieval.posts`` (migrations/0001)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from servicekit.postgres import PostgresResource
from services.retrieval.adapters import postgres_rows as pr
from services.retrieval.domain.model import Post

_NAMES: Final = [name for name, _ in pr.COLUMNS]
_INPUT: Final = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(pr.COLUMNS, start=1))
_TARGETS: Final = ", ".join(_NAMES)
_SOURCES: Final = ", ".join(
    "ARRAY(SELECT jsonb_array_elements_text(i.keywords::jsonb))" if n == "keywords" else f"i.{n}"
    for n in _NAMES
)
_CONTENT: Final = [n for n in _NAMES if n not in {"tenant_id", "channel_id", "message_id"}]
_SET: Final = ", ".join(f"{n} = EXCLUDED.{n}" for n in _CONTENT)

# One statement per batch. `old` reads the rows as they were before this statement (a CTE sees
# the statement's snapshot), which is what the status is computed from. The WHERE of DO UPDATE
# skips identical rows (no dead tuple, no write) and refuses an older edit than the one stored,
# so a late redelivery never rolls a post back. A content change clears indexed_at.
_UPSERT: Final = f"""
WITH i AS (
    SELECT * FROM unnest({_INPUT}) AS t({_TARGETS})
),
old AS (
    SELECT p.tenant_id, p.channel_id, p.message_id, p.content_hash, p.edit_date, p.indexed_at
    FROM retrieval.posts p JOIN i USING (tenant_id, channel_id, message_id)
),
up AS (
    INSERT INTO retrieval.posts AS p ({_TARGETS})
    SELECT {_SOURCES} FROM i
    ON CONFLICT (tenant_id, channel_id, message_id) DO UPDATE
    SET {_SET},
        indexed_at = CASE
            WHEN p.content_hash = EXCLUDED.content_hash
                 AND p.edit_date IS NOT DISTINCT FROM EXCLUDED.edit_date
            THEN p.indexed_at END
    WHERE COALESCE(EXCLUDED.edit_date, '-infinity') >= COALESCE(p.edit_date, '-infinity')
      AND (p.content_hash, p.edit_date, p.views, p.forwards)
          IS DISTINCT FROM (EXCLUDED.content_hash, EXCLUDED.edit_date, EXCLUDED.views,
                            EXCLUDED.forwards)
)
SELECT i.post_id,
       CASE
           WHEN old.tenant_id IS NULL THEN 'new'
           WHEN COALESCE(i.edit_date, '-infinity') < COALESCE(old.edit_date, '-infinity')
               THEN 'unchanged'
           WHEN old.content_hash IS DISTINCT FROM i.content_hash
                OR old.edit_date IS DISTINCT FROM i.edit_date
                OR old.indexed_at IS NULL
               THEN 'updated'
           ELSE 'unchanged'
       END AS status
FROM i LEFT JOIN old USING (tenant_id, channel_id, message_id)
"""  # noqa: S608 - only constant column names are interpolated

_MARK: Final = """
UPDATE retrieval.posts p SET indexed_at = now()
FROM unnest($1::text[], $2::text[]) AS k(tenant_id, post_id)
WHERE p.tenant_id = k.tenant_id AND p.post_id = k.post_id
"""

_DELETE: Final = """
DELETE FROM retrieval.posts
WHERE tenant_id = $1 AND channel_id = $2 AND message_id = ANY($3::bigint[])
RETURNING post_id
"""

# Per SimHash: candidates equal on any 16-bit band (each band has its own index, so this is a
# BitmapOr of four index scans), then the exact distance, then the first stored.
_NEAR: Final = """
SELECT q.h AS simhash, m.post_id
FROM unnest($2::bigint[]) AS q(h)
CROSS JOIN LATERAL (
    SELECT p.post_id
    FROM retrieval.posts p
    WHERE p.tenant_id = $1
      AND (p.simhash_b0 = (q.h & 65535)
           OR p.simhash_b1 = ((q.h >> 16) & 65535)
           OR p.simhash_b2 = ((q.h >> 32) & 65535)
           OR p.simhash_b3 = ((q.h >> 48) & 65535))
      AND bit_count((p.simhash # q.h)::bit(64)) <= $3
    ORDER BY p.seq
    LIMIT 1
) m
"""

_GET: Final = f"""
SELECT {", ".join(n for n in _NAMES if n != "content_hash")}
FROM retrieval.posts WHERE tenant_id = $1 AND post_id = ANY($2::text[])
"""  # noqa: S608 - only constant column names are interpolated


class PostgresPosts:
    """:class:`~services.retrieval.ports.PostRepository` on ``retrieval.posts``.

    Guarantees: ``upsert`` is one round trip per batch and idempotent (once marked indexed, a
    re-run reports every post ``unchanged`` and writes nothing); views/forwards are refreshed
    without counting as a change; an older edit never overwrites a newer one (reported
    ``unchanged``); a batch naming one key twice keeps its newest edit. Deletes are hard
    deletes, visible to every reader at once. Every query is scoped by tenant.
    Raises ``ValueError`` for a post without tenant or a SimHash outside 0..2⁶⁴−1; asyncpg
    errors propagate (``RuntimeError`` before the pool opens).
    """

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def upsert(self, posts: Sequence[Post]) -> dict[str, str]:
        """``post_id → "new" | "updated" | "unchanged"`` for every post given.

        "new": no row had the key. "unchanged": the stored row has the same content and edit
        date and was marked indexed, or it holds a newer edit (the given post is stale and is
        not written). "updated": anything else, including a row stored but never marked indexed
        (a batch that failed half-way is written again).
        """
        if not posts:
            return {}
        rows = await self._db.pool.fetch(_UPSERT, *pr.columns(pr.newest_per_key(posts)))
        status: dict[str, str] = {r["post_id"]: r["status"] for r in rows}
        return {p.post_id: status[p.post_id] for p in posts}

    async def mark_indexed(self, keys: Sequence[tuple[str, str]]) -> None:
        """Record that ``(tenant_id, post_id)`` reached every store; unknown keys are ignored."""
        if not keys:
            return
        tenants, post_ids = zip(*keys, strict=True)
        await self._db.pool.execute(_MARK, list(tenants), list(post_ids))

    async def delete(
        self, tenant_id: str, channel_id: str, message_ids: Sequence[int]
    ) -> list[str]:
        """Delete posts of one channel; returns the post ids that existed."""
        if not message_ids:
            return []
        rows = await self._db.pool.fetch(_DELETE, tenant_id, channel_id, list(message_ids))
        return [r["post_id"] for r in rows]

    async def find_near_duplicates(
        self, tenant_id: str, simhashes: Sequence[int], *, max_distance: int
    ) -> dict[int, str]:
        """For each SimHash, the first stored post of the tenant within ``max_distance`` bits;
        SimHashes with none are absent.

        "Earlier" is storage order (it never changes, unlike dates that arrive out of order), so
        a re-run finds the same originals. Exhaustive for ``max_distance ≤ 3`` (four bands: a
        hash within 3 bits shares a band); beyond that only candidates sharing a band are found.
        A post already stored finds itself when it is the first of its kind: callers treat
        "the first is me" as "not a duplicate".
        """
        wanted = list(dict.fromkeys(simhashes))
        if not wanted or max_distance < 0:
            return {}
        signed = [pr.to_signed(h) for h in wanted]
        # Planned for the values at hand, never from the prepared statement's generic plan:
        # asyncpg prepares every query, and Postgres's generic plan, fixed after a few runs
        # while the table was still small (a new deployment, a bulk import), did not use the
        # band indexes; near-duplicate look-ups then took 86 ms per 64 posts instead of 4 and
        # a third of an import's time (tools/bench_retrieval: 212 → 407 posts/s).
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            rows = await conn.fetch(_NEAR, tenant_id, signed, max_distance)
        return {pr.to_unsigned(r["simhash"]): r["post_id"] for r in rows}

    async def get(self, tenant_id: str, post_ids: Sequence[str]) -> list[Post]:
        """The tenant's posts with these ids, in the order asked; unknown ids are skipped."""
        if not post_ids:
            return []
        rows = await self._db.pool.fetch(_GET, tenant_id, list(dict.fromkeys(post_ids)))
        found = {r["post_id"]: pr.post(r) for r in rows}
        return [found[pid] for pid in dict.fromkeys(post_ids) if pid in found]

    async def ping(self) -> None:
        """Raise unless Postgres answers within 2 s."""
        await self._db.check()
