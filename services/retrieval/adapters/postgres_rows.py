"""Posts ⇄ rows of ``retrieval.posts``: column arrays for ``unnest``, the content hash, SimHash
as a signed bigint, and the way back from a record to a :class:`Post`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg

from services.retrieval.domain.model import Analysis, Entity, Post

_SIGN: Final = 1 << 63
_WRAP: Final = 1 << 64

# Column name and its Postgres array type, in the order of ``columns()``.
COLUMNS: Final = (
    ("tenant_id", "text"),
    ("channel_id", "text"),
    ("message_id", "bigint"),
    ("post_id", "text"),
    ("channel_title", "text"),
    ("chat_kind", "text"),
    ("date", "timestamptz"),
    ("edit_date", "timestamptz"),
    ("text", "text"),
    ("clean_text", "text"),
    ("language", "text"),
    ("entities", "jsonb"),
    ("keywords", "text"),  # text[] per row: passed as JSON and unpacked in SQL
    ("author_id", "text"),
    ("author_name", "text"),
    ("reply_to_message_id", "bigint"),
    ("forwarded_from", "text"),
    ("views", "bigint"),
    ("forwards", "bigint"),
    ("permalink", "text"),
    ("duplicate_of", "text"),
    ("simhash", "bigint"),
    ("content_hash", "bytea"),
)


def to_signed(simhash: int) -> int:
    """An unsigned 64-bit SimHash as the signed bigint Postgres stores (same bits)."""
    if not 0 <= simhash < _WRAP:
        raise ValueError(f"simhash {simhash} is not an unsigned 64-bit integer")
    return simhash - _WRAP if simhash >= _SIGN else simhash


def to_unsigned(stored: int) -> int:
    return stored + _WRAP if stored < 0 else stored


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC already (Postgres would read them as server-local)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _entities(post: Post) -> list[dict[str, str]]:
    return [
        {"text": e.text, "normalized": e.normalized, "label": e.label}
        for e in post.analysis.entities
    ]


def content_hash(post: Post) -> bytes:
    """SHA-256 of everything stored about a post except its keys, edit date and counters."""
    a = post.analysis
    content = [
        post.channel_title,
        post.chat_kind,
        _utc(post.date).isoformat(),
        post.text,
        a.clean_text,
        a.language,
        _entities(post),
        list(a.keywords),
        a.simhash,
        post.author_id,
        post.author_name,
        post.reply_to_message_id,
        post.forwarded_from,
        post.permalink,
        post.duplicate_of,
    ]
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).digest()


def columns(posts: Sequence[Post]) -> list[list[Any]]:
    """One list per column of :data:`COLUMNS`, one entry per post."""
    out: list[list[Any]] = [[] for _ in COLUMNS]
    for post in posts:
        if not post.tenant_id:
            raise ValueError(f"post {post.post_id!r} has no tenant_id")
        a = post.analysis
        row = (
            post.tenant_id,
            post.channel_id,
            post.message_id,
            post.post_id,
            post.channel_title,
            post.chat_kind,
            _utc(post.date),
            _utc_or_none(post.edit_date),
            post.text,
            a.clean_text,
            a.language,
            json.dumps(_entities(post), ensure_ascii=False),
            json.dumps(list(a.keywords), ensure_ascii=False),
            post.author_id,
            post.author_name,
            post.reply_to_message_id,
            post.forwarded_from,
            post.views,
            post.forwards,
            post.permalink,
            post.duplicate_of,
            to_signed(a.simhash),
            content_hash(post),
        )
        for column, value in zip(out, row, strict=True):
            column.append(value)
    return out


def newest_per_key(posts: Sequence[Post]) -> list[Post]:
    """One post per natural key (a batch may repeat one): the newest edit, else the last."""
    chosen: dict[tuple[str, str, int], Post] = {}
    floor = datetime.min.replace(tzinfo=UTC)
    for post in posts:
        key = (post.tenant_id, post.channel_id, post.message_id)
        held = chosen.get(key)
        if held is None or _utc(post.edit_date or floor) >= _utc(held.edit_date or floor):
            chosen[key] = post
    return list(chosen.values())


def post(record: asyncpg.Record) -> Post:
    """A :class:`Post` back from a ``retrieval.posts`` record."""
    return Post(
        tenant_id=record["tenant_id"],
        post_id=record["post_id"],
        channel_id=record["channel_id"],
        channel_title=record["channel_title"],
        chat_kind=record["chat_kind"],
        message_id=record["message_id"],
        date=record["date"],
        text=record["text"],
        analysis=Analysis(
            clean_text=record["clean_text"],
            language=record["language"],
            entities=tuple(Entity(**e) for e in json.loads(record["entities"])),
            keywords=tuple(record["keywords"]),
            simhash=to_unsigned(record["simhash"]),
        ),
        edit_date=record["edit_date"],
        author_id=record["author_id"],
        author_name=record["author_name"],
        reply_to_message_id=record["reply_to_message_id"],
        forwarded_from=record["forwarded_from"],
        views=record["views"],
        forwards=record["forwards"],
        permalink=record["permalink"],
        duplicate_of=record["duplicate_of"],
    )
