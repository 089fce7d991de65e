"""The trend store on Postgres (schema ``trend``): see ``migrations/``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from contracts.v1.posts import PostIndexed
from contracts.v1.trend import TrendDetected
from servicekit.postgres import PostgresResource
from services.trend.adapters.rows import member_from, member_row, story_from, story_row
from services.trend.domain.story import Member
from services.trend.domain.tenant import Changes
from services.trend.ports import Detection, HeldPost, StoredTenant

_HOLD: Final = """
INSERT INTO trend.inbox (tenant_id, post_id, date, source, payload)
SELECT u.t, u.p, u.d, u.s, u.j FROM unnest(
    $1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::jsonb[]) AS u(t, p, d, s, j)
WHERE NOT EXISTS (
    SELECT 1 FROM trend.story_posts m WHERE m.tenant_id = u.t AND m.post_id = u.p)
ON CONFLICT (tenant_id, post_id) DO NOTHING
RETURNING tenant_id, post_id
"""
_UPSERT_STORY: Final = """
INSERT INTO trend.stories (tenant_id, story_id, status, merged_into, embedding_model,
    first_seen, last_seen, size, vectors, vector_sum, state, last_emerging_at, last_stable_at,
    lexical_n, lexical_terms, lexical_weights)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16)
ON CONFLICT (tenant_id, story_id) DO UPDATE SET
    status = EXCLUDED.status, merged_into = EXCLUDED.merged_into,
    first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, size = EXCLUDED.size,
    vectors = EXCLUDED.vectors, vector_sum = EXCLUDED.vector_sum, state = EXCLUDED.state,
    last_emerging_at = EXCLUDED.last_emerging_at, last_stable_at = EXCLUDED.last_stable_at,
    lexical_n = EXCLUDED.lexical_n, lexical_terms = EXCLUDED.lexical_terms,
    lexical_weights = EXCLUDED.lexical_weights, updated_at = now()
"""
_INSERT_MEMBER: Final = """
INSERT INTO trend.story_posts (tenant_id, post_id, story_id, channel_id, message_id, date,
    text, permalink, counted, duplicate, vector)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (tenant_id, post_id) DO NOTHING
"""
_ENTITY_BUCKETS: Final = """
INSERT INTO trend.entity_buckets (tenant_id, entity, bucket, count)
SELECT $1, u.e, u.b, u.c FROM unnest($2::text[], $3::bigint[], $4::int[]) AS u(e, b, c)
ON CONFLICT (tenant_id, entity, bucket) DO UPDATE SET count = EXCLUDED.count
"""
_DETECTION: Final = """
INSERT INTO trend.detections (tenant_id, trend_id, kind, detected_at, event_id, payload)
VALUES ($1, $2, $3, $4, $5::uuid, $6::jsonb)
ON CONFLICT (tenant_id, trend_id, kind, detected_at) DO NOTHING
"""
_CLOCK: Final = """
INSERT INTO trend.tenants (tenant_id, now, documents) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id) DO UPDATE SET now = GREATEST(trend.tenants.now, EXCLUDED.now),
    documents = GREATEST(trend.tenants.documents, EXCLUDED.documents), updated_at = now()
"""
_FREQUENCIES: Final = """
INSERT INTO trend.term_frequencies (tenant_id, term, documents)
SELECT $1, u.t, u.d FROM unnest($2::text[], $3::int[]) AS u(t, d)
ON CONFLICT (tenant_id, term) DO UPDATE SET documents = EXCLUDED.documents
"""


class PostgresTrendStore:
    """:class:`~services.trend.ports.TrendStore` on the ``trend`` schema."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def hold(self, posts: Sequence[HeldPost]) -> set[tuple[str, str]]:
        if not posts:
            return set()
        rows = await self._db.pool.fetch(
            _HOLD,
            [p.tenant_id for p in posts],
            [p.payload.post_id for p in posts],
            [p.payload.date for p in posts],
            [p.source for p in posts],
            [p.payload.model_dump_json() for p in posts],
        )
        return {(r["tenant_id"], r["post_id"]) for r in rows}

    async def held(self) -> list[HeldPost]:
        rows = await self._db.pool.fetch(
            "SELECT tenant_id, payload FROM trend.inbox ORDER BY date, post_id"
        )
        return [
            HeldPost(r["tenant_id"], None, PostIndexed.model_validate_json(r["payload"]))
            for r in rows
        ]

    async def load(self, tenant_id: str, *, span_buckets: int) -> StoredTenant:
        async with self._db.pool.acquire() as conn:
            tenant = await conn.fetchrow(
                "SELECT now, documents FROM trend.tenants WHERE tenant_id = $1", tenant_id
            )
            story_rows = await conn.fetch(
                "SELECT * FROM trend.stories WHERE tenant_id = $1 AND status = 'active'"
                " ORDER BY story_id",
                tenant_id,
            )
            member_rows = await conn.fetch(
                "SELECT m.* FROM trend.story_posts m JOIN trend.stories s"
                " ON s.tenant_id = m.tenant_id AND s.story_id = m.story_id"
                " WHERE m.tenant_id = $1 AND s.status = 'active' ORDER BY m.date, m.post_id",
                tenant_id,
            )
            entity_rows = await conn.fetch(
                "SELECT entity, bucket, count FROM trend.entity_buckets WHERE tenant_id = $1"
                " AND bucket >= (SELECT max(bucket) FROM trend.entity_buckets"
                " WHERE tenant_id = $1) - $2",
                tenant_id,
                span_buckets,
            )
            frequency_rows = await conn.fetch(
                "SELECT term, documents FROM trend.term_frequencies WHERE tenant_id = $1",
                tenant_id,
            )
        members: dict[str, list[Member]] = defaultdict(list)
        for row in member_rows:
            members[row["story_id"]].append(member_from(row))
        return StoredTenant(
            now=None if tenant is None else tenant["now"],
            stories=[story_from(r, members[r["story_id"]]) for r in story_rows],
            entity_buckets=[(r["entity"], r["bucket"], r["count"]) for r in entity_rows],
            documents=0 if tenant is None else tenant["documents"],
            frequencies=[(r["term"], r["documents"]) for r in frequency_rows],
        )

    async def save(
        self,
        tenant_id: str,
        now: datetime | None,
        changes: Changes,
        detections: Sequence[Detection],
    ) -> None:
        async with self._db.pool.acquire() as conn, conn.transaction():
            if changes.stories:
                await conn.executemany(
                    _UPSERT_STORY,
                    [story_row(tenant_id, s) for s in changes.stories.values()],
                )
            if changes.members:
                await conn.executemany(
                    _INSERT_MEMBER,
                    [member_row(tenant_id, sid, m) for sid, m in changes.members],
                )
            for gone, kept in changes.moves:
                await conn.execute(
                    "UPDATE trend.story_posts SET story_id = $3"
                    " WHERE tenant_id = $1 AND story_id = $2",
                    tenant_id,
                    gone,
                    kept,
                )
            if changes.entity_buckets:
                keys = list(changes.entity_buckets)
                await conn.execute(
                    _ENTITY_BUCKETS,
                    tenant_id,
                    [e for e, _ in keys],
                    [b for _, b in keys],
                    [changes.entity_buckets[k] for k in keys],
                )
            if changes.frequencies:
                counted = [(t, c) for t, c in changes.frequencies.items() if c]
                await conn.execute(
                    _FREQUENCIES, tenant_id, [t for t, _ in counted], [c for _, c in counted]
                )
                forgotten = [t for t, c in changes.frequencies.items() if not c]
                if forgotten:
                    await conn.execute(
                        "DELETE FROM trend.term_frequencies"
                        " WHERE tenant_id = $1 AND term = ANY($2::text[])",
                        tenant_id,
                        forgotten,
                    )
            if changes.processed:
                await conn.execute(
                    "DELETE FROM trend.inbox WHERE tenant_id = $1 AND post_id = ANY($2::text[])",
                    tenant_id,
                    changes.processed,
                )
            if now is not None:
                await conn.execute(_CLOCK, tenant_id, now, changes.documents)
            for d in detections:
                await conn.execute(
                    _DETECTION,
                    d.tenant_id,
                    d.payload.trend_id,
                    d.payload.kind,
                    d.detected_at,
                    d.event_id,
                    d.payload.model_dump_json(),
                )

    async def unpublished(self) -> list[Detection]:
        rows = await self._db.pool.fetch(
            "SELECT tenant_id, event_id, detected_at, payload FROM trend.detections"
            " WHERE published_at IS NULL ORDER BY detected_at, trend_id"
        )
        return [
            Detection(
                tenant_id=r["tenant_id"],
                event_id=str(r["event_id"]),
                detected_at=r["detected_at"],
                payload=TrendDetected.model_validate_json(r["payload"]),
            )
            for r in rows
        ]

    async def mark_published(self, detections: Sequence[Detection]) -> None:
        if not detections:
            return
        await self._db.pool.execute(
            "UPDATE trend.detections SET published_at = now()"
            " WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL",
            [d.event_id for d in detections],
        )
