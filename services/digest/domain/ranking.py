"""Importance of stories: cross-channel agreement, engagement, freshness, size, persona.

Every signal is in [0, 1]; the score is their weighted sum. Freshness is measured against
the end of the window (not the wall clock), so a digest of a past window ranks the same
whenever it is written. Ties break on the story id, so the order is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.digest.domain.model import Story
from services.digest.domain.persona import Persona


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts; ``coverage`` ranks by agreement and size only."""

    agreement: float = 0.45
    engagement: float = 0.15
    freshness: float = 0.15
    size: float = 0.25
    persona: float = 0.5


STRATEGIES = {
    "balanced": Weights(),
    "coverage": Weights(agreement=0.6, engagement=0.0, freshness=0.0, size=0.4, persona=0.0),
}


@dataclass(frozen=True, slots=True)
class Ranked:
    """A story with its score and the signals behind it."""

    story: Story
    score: float
    signals: dict[str, float]


def rank(
    stories: Sequence[Story],
    *,
    until: datetime,
    period: timedelta,
    strategy: str = "balanced",
    persona: Persona | None = None,
) -> list[Ranked]:
    """``stories`` best first under ``strategy`` (a key of ``STRATEGIES``)."""
    w = STRATEGIES[strategy]
    reach = {s.story_id: _engagement(s) for s in stories}
    top_reach = max(reach.values(), default=0.0) or 1.0
    half_life = max(period.total_seconds() / 2, 3600.0)
    out = []
    for story in stories:
        age = max(0.0, (until - story.last_seen).total_seconds())
        signals = {
            "agreement": min(1.0, (len(story.channels) - 1) / 5),
            "engagement": reach[story.story_id] / top_reach,
            "freshness": math.exp(-age * math.log(2) / half_life),
            "size": min(1.0, math.log1p(story.size) / math.log(21)),
            "persona": persona.affinity(story.terms, story.channels) if persona else 0.0,
        }
        score = sum(getattr(w, name) * value for name, value in signals.items())
        out.append(Ranked(story, round(score, 6), signals))
    out.sort(key=lambda r: (-r.score, r.story.story_id))
    return out


def _engagement(story: Story) -> float:
    total = sum((p.views or 0) + 10 * (p.forwards or 0) for p in story.posts)
    return math.log1p(total)


def reserve_for_persona(
    ranked: Sequence[Ranked], k: int, *, slots: int = 2, min_affinity: float = 0.5
) -> list[Ranked]:
    """``ranked`` with up to ``slots`` of the first ``k`` places given to the stories that
    match the persona best (affinity at least ``min_affinity``) when they ranked lower: the
    day's biggest stories keep the other places, the reader's own subjects are not crowded
    out. They take the last places of the first ``k``, best match first."""
    picks = sorted(
        (r for r in ranked[k - slots :] if r.signals.get("persona", 0.0) >= min_affinity),
        key=lambda r: (-r.signals["persona"], -r.score, r.story.story_id),
    )[:slots]
    if not picks:
        return list(ranked)
    chosen = {r.story.story_id for r in picks}
    rest = [r for r in ranked if r.story.story_id not in chosen]
    head = rest[: k - len(picks)]
    return [*head, *picks, *rest[k - len(picks) :]]
