"""Emerging and stable: when a story is a trend, at a given event time.

- **emerging**: the burst test (``domain.burst``) on the counted posts of the last window
  against the baseline span before it gives ``P(X >= x) <= p_value``, the window holds posts
  of at least ``min_channels`` distinct independent channels, and the story has not been
  announced as emerging within ``emerging_cooldown_s``;
- **stable**: the story is at least ``stable_min_age_s`` old, has ``stable_min_posts``
  counted posts from ``stable_min_channels`` channels in the last window + baseline span,
  spread over ``stable_min_hours`` distinct hours, had a counted post within
  ``stable_recent_s``, and was not announced as stable within ``stable_cooldown_s``.

``announce`` applies the cooldowns (what to publish now); ``current`` ignores them (what to
report when asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.trend.domain.burst import BurstTest, burst_test
from services.trend.domain.counters import bucket_of
from services.trend.domain.model import BurstParams, TrendKind
from services.trend.domain.story import Story


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a story is (or is not) a trend at ``at``."""

    at: datetime
    test: BurstTest
    window_channels: int
    """Distinct independent channels with a counted post in the window."""
    span_posts: int
    """Counted posts in window + baseline."""
    span_channels: int
    span_hours: int
    emerging: bool
    stable: bool


def judge(story: Story, at: datetime, p: BurstParams) -> Verdict:
    """Evaluate ``story`` at event time ``at`` (no cooldowns)."""
    now = bucket_of(at, p.bucket_s)
    first_window = now - p.window_buckets + 1
    first_span = first_window - p.baseline_buckets
    observed = story.counts.total(first_window, now)
    test = burst_test(
        observed,
        story.counts.weight(first_window, now),
        story.counts.total(first_span, first_window - 1),
        window_hours=p.window_s / 3600,
        baseline_hours=p.baseline_s / 3600,
        prior_events=p.prior_events,
        prior_hours=p.prior_hours,
    )
    span_start = at - timedelta(seconds=p.window_s + p.baseline_s)
    window_start = at - timedelta(seconds=p.window_s)
    recent = [c for c, when in story.last_counted.items() if when > window_start]
    span_channels = sum(1 for when in story.last_counted.values() if when > span_start)
    span_posts = story.counts.total(first_span, now)
    span_hours = story.counts.active(first_span, now, 3600 // p.bucket_s)
    emerging = (
        observed >= p.min_channels and len(recent) >= p.min_channels and test.p_value <= p.p_value
    )
    last_counted = max(story.last_counted.values(), default=None)
    stable = (
        at - story.first_seen >= timedelta(seconds=p.stable_min_age_s)
        and span_posts >= p.stable_min_posts
        and span_channels >= p.stable_min_channels
        and span_hours >= p.stable_min_hours
        and last_counted is not None
        and at - last_counted <= timedelta(seconds=p.stable_recent_s)
    )
    return Verdict(
        at=at,
        test=test,
        window_channels=len(recent),
        span_posts=span_posts,
        span_channels=span_channels,
        span_hours=span_hours,
        emerging=emerging,
        stable=stable,
    )


def current(verdict: Verdict) -> TrendKind | None:
    """The kind a story has now, emerging first, ignoring cooldowns."""
    if verdict.emerging:
        return "emerging"
    if verdict.stable:
        return "stable"
    return None


def announce(story: Story, verdict: Verdict, p: BurstParams) -> TrendKind | None:
    """The kind to publish now, if any, honouring the cooldowns; records the announcement
    on ``story`` (so the caller must persist it)."""
    at = verdict.at
    if verdict.emerging and _cool(story.last_emerging_at, at, p.emerging_cooldown_s):
        story.last_emerging_at = at
        return "emerging"
    if (
        verdict.stable
        and not verdict.emerging
        and _cool(story.last_stable_at, at, p.stable_cooldown_s)
    ):
        story.last_stable_at = at
        return "stable"
    return None


def _cool(last: datetime | None, at: datetime, cooldown_s: int) -> bool:
    return last is None or at - last >= timedelta(seconds=cooldown_s)
