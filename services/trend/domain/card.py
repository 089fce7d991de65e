"""The trend card: what a detection says about its story (extractive, no model needed).

- headline: the first sentence of the story's most central post (highest cosine to the
  centroid; reposts only when nothing else is there), cleaned and cut at 200 characters;
- representative posts: the most central post of each channel, most central first, all inside
  ``[window_start, window_end]``;
- why now: one line with the numbers the decision used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from services.trend.domain.detector import Verdict
from services.trend.domain.model import BurstParams, TrendKind
from services.trend.domain.story import Member, Story

HEADLINE_CHARS: Final = 200
MIN_HEADLINE_CHARS: Final = 30
_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+(?=[\"«(A-ZА-ЯЁ0-9])|\n+")
_NOISE: Final = re.compile(r"^[\s\W_]+|[\s,;:—–-]+$")
_SPACES: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PostCitation:
    """A representative post."""

    post_id: str
    channel_id: str
    message_id: int
    permalink: str | None


@dataclass(frozen=True, slots=True)
class EntityBurst:
    """An entity of the story and its tenant-wide counts (for the why-now line)."""

    entity: str
    window: int
    baseline_per_hour: float


@dataclass(frozen=True, slots=True)
class TrendCard:
    """Everything a ``TrendDetected`` carries, in domain terms."""

    trend_id: str
    kind: TrendKind
    headline: str
    why_now: str
    keywords: tuple[str, ...]
    entities: tuple[str, ...]
    posts: tuple[PostCitation, ...]
    channels: tuple[str, ...]
    burst_score: float
    p_value: float
    first_seen_at: datetime
    window_start: datetime
    window_end: datetime
    post_count: int
    rank_score: float
    """Order within a kind: emerging by significance, stable by weighted volume."""


def headline(text: str) -> str:
    """The first sentence of ``text``, cleaned, at most 200 characters (cut at a word); a
    first sentence of fewer than 30 characters ("Спецоперация.") takes the next one along."""
    parts = [p for p in (_NOISE.sub("", s) for s in _SENTENCE_END.split(text.strip())) if p]
    first = ""
    for part in parts:
        first = f"{first} {part}" if first else part
        if len(first) >= MIN_HEADLINE_CHARS:
            break
    line = _SPACES.sub(" ", first).strip()
    if len(line) <= HEADLINE_CHARS:
        return line or "…"
    cut = line[: HEADLINE_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—–- ") + "…"


def centrality(story: Story) -> list[tuple[float, Member]]:
    """Members with a vector, originals before reposts, then by cosine to the centroid, most
    central first (ties: oldest)."""
    centre = story.centroid()
    scored = [(float(np.dot(m.vector, centre)), m) for m in story.members if m.vector is not None]
    scored.sort(key=lambda sm: (sm[1].duplicate, -sm[0], sm[1].date, sm[1].post_id))
    return scored


def build_card(
    story: Story,
    verdict: Verdict,
    kind: TrendKind,
    p: BurstParams,
    *,
    entity: EntityBurst | None = None,
    max_posts: int = 10,
    channels: frozenset[str] | None = None,
) -> TrendCard:
    """The card of ``story`` as judged in ``verdict``; ``channels`` limits the citations to
    those channels (a scoped request)."""
    end = verdict.at
    start = max(story.first_seen, end - timedelta(seconds=p.window_s + p.baseline_s))
    ranked = [m for _, m in centrality(story) if start <= m.date <= end]
    in_scope = [m for m in ranked if channels is None or m.channel_id in channels]
    lead = (in_scope or ranked or story.members)[0]
    seen: set[str] = set()
    cited: list[PostCitation] = []
    for m in in_scope:
        if m.channel_id in seen or len(cited) >= max_posts:
            continue
        seen.add(m.channel_id)
        cited.append(PostCitation(m.post_id, m.channel_id, m.message_id, m.permalink))
    test = verdict.test
    if kind == "emerging":
        rank = -np.log10(max(test.p_value, 1e-300))
    else:
        rank = story.counts.weight(0, 1 << 62)
    return TrendCard(
        trend_id=story.story_id,
        kind=kind,
        headline=headline(lead.text),
        why_now=why_now(story, verdict, kind, entity),
        keywords=tuple(k for k, _ in story.keywords.most_common(10)),
        entities=tuple(e for e, _ in story.entities.most_common(10)),
        posts=tuple(cited),
        channels=tuple(c for c in story.channels() if channels is None or c in channels)[:100],
        burst_score=round(test.score, 3),
        p_value=test.p_value,
        first_seen_at=story.first_seen,
        window_start=min(start, lead.date),
        window_end=end,
        post_count=story.size,
        rank_score=float(rank),
    )


def why_now(
    story: Story, verdict: Verdict, kind: TrendKind, entity: EntityBurst | None = None
) -> str:
    """One line, at most 300 characters, with the numbers behind the decision."""
    t = verdict.test
    since = story.first_seen.strftime("%d.%m %H:%M UTC")
    if kind == "emerging":
        line = (
            f"{verdict.window_channels} channels in the last hour vs {t.expected:.2f} expected "
            f"from the day before (p={t.p_value:.1e}); first post {since}"
        )
    else:
        line = (
            f"{verdict.span_posts} posts from {verdict.span_channels} channels over "
            f"{verdict.span_hours} of the last 25 hours; running since {since}"
        )
    if entity is not None:
        line += (
            f"; «{entity.entity}» in {entity.window} posts this hour "
            f"vs {entity.baseline_per_hour:.1f}/h before"
        )
    return line[:300]
