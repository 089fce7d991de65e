"""From a domain :class:`TrendCard` to the ``trend.detected.v1`` payload."""

from __future__ import annotations

from contracts.v1.common import PostRef
from contracts.v1.trend import TrendDetected
from services.trend.domain.card import TrendCard


def to_payload(card: TrendCard, *, request_id: str | None = None) -> TrendDetected:
    """The contract form of ``card``; ``request_id`` when it answers a ``ReportTrends``."""
    return TrendDetected(
        trend_id=card.trend_id,
        kind=card.kind,
        headline=card.headline[:300] or "…",
        why_now=card.why_now[:300],
        keywords=[k[:128] for k in card.keywords if k][:50],
        entities=[e[:256] for e in card.entities if e][:50],
        representative_posts=[
            PostRef(
                post_id=p.post_id,
                channel_id=p.channel_id,
                message_id=p.message_id,
                permalink=p.permalink,
            )
            for p in card.posts[:20]
        ],
        channels=list(card.channels[:100]),
        burst_score=card.burst_score,
        first_seen_at=card.first_seen_at,
        window_start=card.window_start,
        window_end=card.window_end,
        post_count=card.post_count,
        request_id=request_id,
    )
