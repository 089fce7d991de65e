"""What both Qdrant adapters share: collection names, point ids, the payload and hits.

The payload is built in one place so the two engines store exactly the same fields, and it is
bounded by construction (snippet ≤ 2000 characters, ≤ 200 entities): it never needs to be
"rebuilt minimally" when too large, so ``tenant_id`` can never be dropped from a point.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from services.retrieval.domain.model import Hit, Leg, Post, SearchFilters

DENSE: Final = "dense"
SPARSE: Final = "sparse"
SNIPPET_CHARS: Final = 2000
MAX_ENTITIES: Final = 200
KEYWORD_FIELDS: Final = ("channel_id", "language", "chat_kind")
"""Keyword payload fields indexed besides ``tenant_id`` (the tenant index) and ``date``."""

_POINT_NAMESPACE: Final = uuid.UUID("5f0c6a52-8f0e-4d55-9c3e-2b7d9a4e61c1")
_UNSAFE: Final = re.compile(r"[^a-z0-9_-]+")
_MAX_NAME: Final = 80


def collection_name(model_name: str) -> str:
    """``posts__<model>``: lower-case ``[a-z0-9_-]`` only, so it is also a safe directory name.

    When sanitising changes the name (``BAAI/bge-m3`` → ``baai_bge-m3``), an 8-hex digest of
    the original is appended, so two models whose names sanitise alike never share vectors.
    Raises ``ValueError`` for a name with no usable character.
    """
    cleaned = _UNSAFE.sub("_", model_name.lower()).strip("_-")[:_MAX_NAME]
    if not cleaned:
        raise ValueError(f"embedding model name {model_name!r} has no usable character")
    if cleaned != model_name:
        cleaned += "_" + hashlib.sha256(model_name.encode()).hexdigest()[:8]
    return f"posts__{cleaned}"


def point_id(tenant_id: str, post_id: str) -> str:
    """The point id of a post: a UUID5 of tenant and post id (stable across runs and engines).

    The tenant is hashed in too, so even two tenants using the same ``post_id`` could never
    overwrite each other's point.
    """
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{tenant_id}\x1f{post_id}"))


def require_tenant(tenant_id: str) -> str:
    """Raise ``ValueError`` for an empty tenant: every read and write is scoped by one."""
    if not tenant_id:
        raise ValueError("tenant_id is required")
    return tenant_id


def rfc3339(moment: datetime) -> str:
    """UTC RFC 3339 with ``Z``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def date_bounds(filters: SearchFilters) -> tuple[str | None, str | None]:
    """``(since, until)`` as RFC 3339; both bounds are inclusive (``since == until`` is valid)."""
    since = rfc3339(filters.since) if filters.since is not None else None
    until = rfc3339(filters.until) if filters.until is not None else None
    return since, until


def entity_names(post: Post) -> list[str]:
    """Normalized entity names of a post, de-duplicated in order, at most ``MAX_ENTITIES``."""
    seen: dict[str, None] = {}
    for entity in post.analysis.entities:
        if entity.normalized and entity.normalized not in seen:
            seen[entity.normalized] = None
            if len(seen) == MAX_ENTITIES:
                break
    return list(seen)


def payload(post: Post) -> dict[str, Any]:
    """The stored payload of a post (raises ``ValueError`` without a tenant)."""
    text = post.analysis.clean_text or post.text
    return {
        "tenant_id": require_tenant(post.tenant_id),
        "post_id": post.post_id,
        "channel_id": post.channel_id,
        "channel_title": post.channel_title,
        "chat_kind": post.chat_kind,
        "message_id": post.message_id,
        "date": rfc3339(post.date),
        "language": post.analysis.language,
        "entities": entity_names(post),
        "text": text[:SNIPPET_CHARS],
        "permalink": post.permalink,
        "duplicate_of": post.duplicate_of,
    }


#: The payload fields a light hit carries: enough to fuse, collapse reposts and rank.
LIGHT_FIELDS: Final = ["post_id", "duplicate_of"]


def selector(light: bool) -> bool | list[str]:
    """``with_payload`` of a query: the whole payload, or only :data:`LIGHT_FIELDS`."""
    return list(LIGHT_FIELDS) if light else True


def hit(data: Mapping[str, Any] | None, score: float, leg: Leg, *, light: bool = False) -> Hit:
    """A :class:`Hit` from a stored payload (``light``: from :data:`LIGHT_FIELDS` only)."""
    data = data or {}
    if light:
        return Hit(
            post_id=str(data.get("post_id", "")),
            score=float(score),
            leg=leg,
            duplicate_of=data.get("duplicate_of"),
        )
    raw_date = data.get("date")
    return Hit(
        post_id=str(data.get("post_id", "")),
        score=float(score),
        leg=leg,
        channel_id=str(data.get("channel_id", "")),
        channel_title=data.get("channel_title"),
        message_id=int(data.get("message_id", 0)),
        date=datetime.fromisoformat(raw_date) if isinstance(raw_date, str) else None,
        text=str(data.get("text", "")),
        permalink=data.get("permalink"),
        entities=tuple(data.get("entities") or ()),
        language=str(data.get("language", "")),
        duplicate_of=data.get("duplicate_of"),
    )


def ordered(hits: Sequence[Hit], post_ids: Sequence[str]) -> list[Hit]:
    """``hits`` in the order of ``post_ids``: ``fetch`` answers in the order it was asked."""
    rank = {pid: n for n, pid in enumerate(post_ids)}
    return sorted(hits, key=lambda h: rank.get(h.post_id, len(rank)))
