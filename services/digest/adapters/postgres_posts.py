"""Posts read straight from the retrieval service's canonical table ``retrieval.posts``.

Why not ``retrieval.requested.v1``: a digest needs *every* post of its channels in the
window (to cluster stories and measure agreement), while a retrieval request answers the
most relevant 30 documents of one query (the digest domain's limit). A whole-window scan is
one indexed range read of the canonical rows, the same rows the retrieval service writes
first; this adapter only reads them, always filtered by tenant.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg

from servicekit.postgres import PostgresResource
from services.digest.domain.model import Post
from services.digest.errors import StoreUnavailable

_COLUMNS: Final = (
    "post_id, channel_id, channel_title, message_id, date, clean_text, language, keywords,"
    " entities, views, forwards, permalink, duplicate_of, forwarded_from,"
    " reply_to_message_id, author_id, author_name"
)
_WINDOW: Final = f"""
SELECT * FROM (
    SELECT {_COLUMNS} FROM retrieval.posts
    WHERE tenant_id = $1 AND channel_id = ANY($2::text[]) AND date >= $3 AND date < $4
    ORDER BY date DESC, post_id DESC
    LIMIT $5
) w ORDER BY date, post_id
"""  # noqa: S608 - constant column list
_BY_IDS: Final = f"""
SELECT {_COLUMNS} FROM retrieval.posts WHERE tenant_id = $1 AND post_id = ANY($2::text[])
"""  # noqa: S608 - constant column list


def _post(row: asyncpg.Record) -> Post:
    entities: Any = row["entities"]
    if isinstance(entities, str):
        entities = json.loads(entities)
    names = tuple(
        str(e.get("normalized") or e.get("text")) for e in entities if isinstance(e, dict)
    )
    return Post(
        post_id=row["post_id"],
        channel_id=row["channel_id"],
        channel_title=row["channel_title"],
        message_id=int(row["message_id"]),
        date=row["date"],
        text=row["clean_text"],
        language=row["language"],
        keywords=tuple(row["keywords"] or ()),
        entities=names,
        views=row["views"],
        forwards=row["forwards"],
        permalink=row["permalink"],
        duplicate_of=row["duplicate_of"],
        forwarded_from=row["forwarded_from"],
        reply_to_message_id=row["reply_to_message_id"],
        author_id=row["author_id"],
        author_name=row["author_name"],
    )


class PostgresPostSource:
    """:class:`~services.digest.ports.PostSource` over ``retrieval.posts`` (read only)."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def window(
        self,
        tenant_id: str,
        channels: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        limit: int,
    ) -> list[Post]:
        try:
            rows = await self._db.pool.fetch(
                _WINDOW, tenant_id, list(channels), since, until, limit
            )
        except (OSError, asyncpg.PostgresConnectionError) as exc:
            raise StoreUnavailable(f"posts: {exc!r}"[:200]) from exc
        return [_post(r) for r in rows]

    async def by_ids(self, tenant_id: str, post_ids: Sequence[str]) -> list[Post]:
        if not post_ids:
            return []
        try:
            rows = await self._db.pool.fetch(_BY_IDS, tenant_id, list(post_ids))
        except (OSError, asyncpg.PostgresConnectionError) as exc:
            raise StoreUnavailable(f"posts: {exc!r}"[:200]) from exc
        return [_post(r) for r in rows]
