"""Hand-made posts for the trend unit tests: vectors built from a few named directions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from contracts.v1.posts import Entity, PostIndexed
from services.trend.domain.arguments import Day, Participants
from services.trend.domain.model import IncomingPost, Vector

T0 = datetime(2024, 12, 3, 12, 0, tzinfo=UTC)
DIM = 16


def direction(topic: int, noise: float = 0.0, seed: int = 0) -> Vector:
    """A unit vector near basis direction ``topic``; ``noise`` mixes in a seeded random one."""
    base = np.zeros(DIM, dtype=np.float32)
    base[topic] = 1.0
    if noise:
        rng = np.random.default_rng(seed)
        base = base + noise * rng.standard_normal(DIM).astype(np.float32)
    return (base / np.linalg.norm(base)).astype(np.float32)


def post(
    n: int,
    *,
    topic: int = 0,
    channel: str = "c1",
    minutes: float = 0.0,
    terms: tuple[str, ...] = (),
    noise: float = 0.0,
    tenant: str = "acme",
    duplicate_of: str | None = None,
    vector: Vector | None = None,
    text: str | None = None,
    days: frozenset[Day] | set[Day] = frozenset(),
    people: Participants | None = None,
) -> IncomingPost:
    """Post ``n`` of ``channel`` at ``T0 + minutes`` about basis direction ``topic``, naming
    ``days`` and ``people`` (none by default)."""
    return IncomingPost(
        tenant_id=tenant,
        post_id=f"{tenant}:{channel}:{n}",
        channel_id=channel,
        message_id=n,
        date=T0 + timedelta(minutes=minutes),
        text=text or f"Пост номер {n} о теме {topic}. Второе предложение.",
        embedding_model="test",
        vector=direction(topic, noise, seed=n) if vector is None else vector,
        terms=frozenset(terms),
        entities=terms,
        keywords=terms,
        permalink=f"https://t.me/{channel}/{n}",
        duplicate_of=duplicate_of,
        days=frozenset(days),
        people=people or Participants(),
    )


def indexed(
    n: int,
    *,
    channel: str = "c1",
    minutes: float = 0.0,
    topic: int = 0,
    tenant: str = "acme",
    entities: tuple[str, ...] = ("сирия",),
) -> PostIndexed:
    """The ``posts.indexed.v1`` payload of a post like :func:`post`."""
    return PostIndexed(
        post_id=f"{tenant}:{channel}:{n}",
        channel_id=channel,
        message_id=n,
        date=T0 + timedelta(minutes=minutes),
        chat_kind="channel",
        text=f"Новость {n} о теме {topic}: в Сирии наступление.",
        entities=[Entity(text=e, normalized=e, label="LOC") for e in entities],
        keywords=["наступление"],
        embedding_model="test",
        embedding=direction(topic).tolist(),
        permalink=f"https://t.me/{channel}/{n}",
    )
