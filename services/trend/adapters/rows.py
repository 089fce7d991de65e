"""Stories and members to and from their Postgres rows."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np

from services.trend.domain.arguments import Participants, event_days
from services.trend.domain.counters import BucketSeries
from services.trend.domain.story import Member, Story


def story_row(tenant_id: str, s: Story) -> tuple[Any, ...]:
    """Parameters of the story upsert, in column order."""
    state = {
        "terms": dict(s.terms),
        "entities": dict(s.entities),
        "keywords": dict(s.keywords),
        "days": sorted(s.days),
        "people": sorted(s.people.parts),
        "full_names": s.people.named,
        "channel_titles": s.channel_titles,
        "last_counted": {c: t.isoformat() for c, t in s.last_counted.items()},
        "counts": {str(b): [c, s.counts.weights.get(b, 0.0)] for b, c in s.counts.counts.items()},
    }
    return (
        tenant_id,
        s.story_id,
        s.status,
        s.merged_into,
        s.embedding_model,
        s.first_seen,
        s.last_seen,
        s.size,
        s.vectors,
        [float(v) for v in s.vector_sum],
        json.dumps(state, ensure_ascii=False),
        s.last_emerging_at,
        s.last_stable_at,
        s.lexical_n,
        list(s.lexical),
        list(s.lexical.values()),
    )


def member_row(tenant_id: str, story_id: str, m: Member) -> tuple[Any, ...]:
    """Parameters of the member insert, in column order."""
    return (
        tenant_id,
        m.post_id,
        story_id,
        m.channel_id,
        m.message_id,
        m.date,
        m.text,
        m.permalink,
        m.counted,
        m.duplicate,
        None if m.vector is None else m.vector.tolist(),
    )


def story_from(row: asyncpg.Record, members: list[Member]) -> Story:
    """A story from its row and its members (oldest first)."""
    state = json.loads(row["state"])
    counts = BucketSeries()
    for bucket, (count, weight) in state["counts"].items():
        counts.add(int(bucket), int(count), float(weight))
    return Story(
        story_id=row["story_id"],
        tenant_id=row["tenant_id"],
        embedding_model=row["embedding_model"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        vector_sum=np.asarray(row["vector_sum"], dtype=np.float64),
        vectors=row["vectors"],
        size=row["size"],
        terms=Counter(state["terms"]),
        entities=Counter(state["entities"]),
        keywords=Counter(state["keywords"]),
        # Rows stored before the event arguments have neither: the days are read from the
        # members' texts again, the people (entities are not kept per member) stay unknown.
        days={(int(m), int(d)) for m, d in state["days"]}
        if "days" in state
        else set().union(*(event_days(m.text, m.date.year) for m in members)),
        people=Participants(frozenset(state.get("people", ())), state.get("full_names", False)),
        channel_titles=dict(state["channel_titles"]),
        last_counted={c: datetime.fromisoformat(t) for c, t in state["last_counted"].items()},
        members=members,
        counts=counts,
        status=row["status"],
        merged_into=row["merged_into"],
        last_emerging_at=row["last_emerging_at"],
        last_stable_at=row["last_stable_at"],
        # Empty in rows stored before the lexical signal: the clusterer rebuilds them.
        lexical=dict(zip(row["lexical_terms"], row["lexical_weights"], strict=True)),
        lexical_n=row["lexical_n"],
    )


def member_from(row: asyncpg.Record) -> Member:
    """A member from its row."""
    vector = row["vector"]
    return Member(
        post_id=row["post_id"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        date=row["date"],
        text=row["text"],
        permalink=row["permalink"],
        counted=row["counted"],
        duplicate=row["duplicate"],
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
    )
