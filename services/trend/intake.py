"""From a ``posts.indexed.v1`` payload to the domain's :class:`IncomingPost`."""

from __future__ import annotations

import numpy as np

from contracts.v1.posts import PostIndexed
from services.trend.domain.arguments import Participants, event_days
from services.trend.domain.model import IncomingPost, Vector


def to_incoming(tenant_id: str, post: PostIndexed) -> IncomingPost:
    """The domain view of ``post``: the vector re-normalised (a zero vector counts as none),
    terms = lower-cased keywords and normalised entity forms; the days its lead names and the
    people its ``PER`` entities name (``domain.arguments``)."""
    entities = tuple(dict.fromkeys(e.normalized.lower() for e in post.entities))
    keywords = tuple(dict.fromkeys(k.lower() for k in post.keywords))
    return IncomingPost(
        tenant_id=tenant_id,
        post_id=post.post_id,
        channel_id=post.channel_id,
        message_id=post.message_id,
        date=post.date,
        text=post.text[:1000],
        embedding_model=post.embedding_model,
        vector=_unit(post.embedding),
        terms=frozenset(entities) | frozenset(keywords),
        entities=entities,
        keywords=keywords,
        channel_title=post.channel_title,
        permalink=post.permalink,
        duplicate_of=post.duplicate_of,
        views=post.views,
        forwards=post.forwards,
        days=event_days(post.text[:1000], post.date.year),
        people=Participants.of((e.text, e.normalized) for e in post.entities if e.label == "PER"),
    )


def _unit(values: list[float] | None) -> Vector | None:
    if not values:
        return None
    vector = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < 1e-9:
        return None
    return (vector / norm).astype(np.float32)
