"""Everything the trend service knows about one tenant, and what processing a post changes.

The tenant's clock is *event time*: the latest post date processed (``now``), never the wall
clock, so replaying the same posts gives the same stories, counters and trends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.trend.domain.card import EntityBurst, TrendCard, build_card
from services.trend.domain.clusterer import Assignment, Clusterer
from services.trend.domain.counters import BucketSeries, bucket_of
from services.trend.domain.detector import announce, current, judge
from services.trend.domain.model import BurstParams, IncomingPost, StoryParams, TrendKind
from services.trend.domain.story import Member, Story


@dataclass(slots=True)
class Changes:
    """What processing changed since the last :meth:`TenantState.take_changes`."""

    stories: dict[str, Story] = field(default_factory=dict)
    """Stories to upsert (active, merged or retired), by id."""
    members: list[tuple[str, Member]] = field(default_factory=list)
    """New members with their story id at insertion."""
    moves: list[tuple[str, str]] = field(default_factory=list)
    """``(gone, kept)``: members of ``gone`` now belong to ``kept`` (merges)."""
    entity_buckets: dict[tuple[str, int], int] = field(default_factory=dict)
    """``(entity, bucket)`` → its count now (absolute, so a rewrite is idempotent)."""
    frequencies: dict[str, int] = field(default_factory=dict)
    """Stem → its document frequency now (absolute; 0: forgotten), see ``domain.lexical``."""
    documents: int = 0
    """Posts counted in the document frequencies so far (absolute)."""
    cards: list[TrendCard] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    """Post ids taken (assigned or ignored)."""
    ignored: int = 0
    merged: int = 0
    retired: int = 0
    kept_apart: Counter[str] = field(default_factory=Counter)
    """Posts kept out of a story they matched in words, by the argument that differed."""


class TenantState:
    """One tenant's stories, entity counters and clock."""

    def __init__(
        self,
        tenant_id: str,
        stories: StoryParams,
        burst: BurstParams,
        *,
        now: datetime | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.burst = burst
        self.clusterer = Clusterer(stories, bucket_s=burst.bucket_s, window_s=burst.window_s)
        self.entities: dict[str, BucketSeries] = {}
        self.now = now
        self._changes = Changes()

    def load(
        self,
        stories: Iterable[Story],
        entity_buckets: Iterable[tuple[str, int, int]],
        *,
        documents: int = 0,
        frequencies: Iterable[tuple[str, int]] = (),
    ) -> None:
        """Adopt stored state: document frequencies (``documents`` posts, ``(stem, count)``
        rows), active stories, and ``(entity, bucket, count)`` rows."""
        self.clusterer.frequencies.load(documents, frequencies)
        self.clusterer.load(stories)
        for entity, bucket, count in entity_buckets:
            self.entities.setdefault(entity, BucketSeries()).add(bucket, count, float(count))

    def process(self, post: IncomingPost) -> list[TrendCard]:
        """Cluster and count ``post``, then announce its story if it just became a trend."""
        changes = self._changes
        changes.processed.append(post.post_id)
        self._advance(post.date)
        assert self.now is not None
        assignment = self.clusterer.assign(post)
        if assignment is None:
            changes.ignored += 1
            return []
        self._record(assignment)
        bucket = bucket_of(post.date, self.burst.bucket_s)
        for entity in set(post.entities):
            series = self.entities.setdefault(entity, BucketSeries())
            series.add(bucket)
            changes.entity_buckets[(entity, bucket)] = series.counts[bucket]
        story = assignment.story
        verdict = judge(story, self.now, self.burst)
        kind = announce(story, verdict, self.burst)
        if kind is None:
            return []
        card = build_card(story, verdict, kind, self.burst, entity=self.entity_burst(story))
        changes.cards.append(card)
        return [card]

    def current(
        self,
        kinds: Iterable[TrendKind],
        *,
        channels: frozenset[str] | None = None,
        limit: int = 10,
        max_posts: int = 10,
    ) -> list[TrendCard]:
        """The trends of this tenant at its ``now`` (no cooldowns): emerging first, each kind
        by its rank; ``channels`` keeps stories with a post in one of them."""
        if self.now is None:
            return []
        wanted = set(kinds)
        cards: list[TrendCard] = []
        for story in sorted(self.clusterer.stories.values(), key=lambda s: s.story_id):
            if channels is not None and not channels & set(story.channels()):
                continue
            verdict = judge(story, self.now, self.burst)
            kind = current(verdict)
            if kind is None or kind not in wanted:
                continue
            cards.append(
                build_card(
                    story,
                    verdict,
                    kind,
                    self.burst,
                    entity=self.entity_burst(story),
                    max_posts=max_posts,
                    channels=channels,
                )
            )
        order = {"emerging": 0, "stable": 1}
        cards.sort(key=lambda c: (order[c.kind], -c.rank_score, c.trend_id))
        return cards[:limit]

    def entity_burst(self, story: Story) -> EntityBurst | None:
        """The story's entity with the sharpest tenant-wide rise this window, if any rose."""
        if self.now is None:
            return None
        p = self.burst
        now = bucket_of(self.now, p.bucket_s)
        first = now - p.window_buckets + 1
        best: tuple[float, EntityBurst] | None = None
        for entity, _ in story.entities.most_common(5):
            series = self.entities.get(entity)
            if series is None:
                continue
            window = series.total(first, now)
            before = series.total(first - p.baseline_buckets, first - 1) / (p.baseline_s / 3600)
            rise = window / (before + 0.5)
            if window >= p.min_channels and (best is None or rise > best[0]):
                best = (rise, EntityBurst(entity, window, before))
        return None if best is None else best[1]

    def take_changes(self) -> Changes:
        """Hand over the changes so far and start a new set."""
        changes, self._changes = self._changes, Changes()
        changes.frequencies = self.clusterer.frequencies.take_changes()
        changes.documents = self.clusterer.frequencies.docs
        return changes

    # -- internals -------------------------------------------------------------------------

    def _advance(self, date: datetime) -> None:
        """Move the clock to ``date`` if later; on a new bucket retire stale stories and
        forget counts older than the window + baseline span."""
        p = self.burst
        previous = self.now
        if previous is not None and date <= previous:
            return
        self.now = date
        if previous is not None and bucket_of(date, p.bucket_s) == bucket_of(previous, p.bucket_s):
            return
        for story in self.clusterer.retire(date):
            self._changes.stories[story.story_id] = story
            self._changes.retired += 1
        keep_from = bucket_of(date - timedelta(seconds=p.window_s + p.baseline_s), p.bucket_s)
        for story in self.clusterer.stories.values():
            story.counts.prune(keep_from)
        for series in self.entities.values():
            series.prune(keep_from)
        for entity in [e for e, series in self.entities.items() if not series.counts]:
            del self.entities[entity]

    def _record(self, a: Assignment) -> None:
        changes = self._changes
        changes.stories[a.story.story_id] = a.story
        changes.members.append((a.story.story_id, a.member))
        changes.kept_apart.update(a.kept_apart)
        for gone in a.merged:
            changes.stories[gone.story_id] = gone
            changes.moves.append((gone.story_id, a.story.story_id))
            changes.merged += 1
