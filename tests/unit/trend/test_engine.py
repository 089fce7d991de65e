"""The engine over the in-memory store: idempotency, restarts, store and broker failures."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from contracts.v1.posts import PostIndexed
from contracts.v1.trend import ReportTrends
from services.trend.adapters.memory import MemoryTrendStore
from services.trend.engine import TrendEngine
from services.trend.metrics import build_trend_metrics
from services.trend.ports import Detection, HeldPost
from services.trend.settings import TrendSettings
from tests.unit.trend.factories import indexed

pytestmark = pytest.mark.unit
SETTINGS = TrendSettings(postgres_dsn="postgresql://unused@localhost/unused")


class Sink:
    """Keeps what is published; ``down`` makes publishing fail."""

    def __init__(self) -> None:
        self.published: list[Detection] = []
        self.down = False

    async def publish(self, detection: Detection) -> None:
        if self.down:
            raise ConnectionError("broker down (simulated)")
        self.published.append(detection)


def _engine(store: MemoryTrendStore, sink: Sink) -> TrendEngine:
    return TrendEngine(
        store,
        sink,
        build_trend_metrics(CollectorRegistry()),
        stories=SETTINGS.story_params(),
        burst=SETTINGS.burst_params(),
        monotonic=lambda: 0.0,
        idle_partition_s=10,
    )


def _burst(tenant: str = "acme") -> list[PostIndexed]:
    """Five channels on one story within 20 minutes, plus an unrelated post."""
    posts = [indexed(i + 1, channel=f"ch{i}", minutes=4 * i, tenant=tenant) for i in range(5)]
    return [*posts, indexed(9, channel="ch9", minutes=21, topic=7, tenant=tenant)]


def _held(posts: list[PostIndexed], tenant: str = "acme") -> list[HeldPost]:
    return [HeldPost(tenant, None, p) for p in posts]


async def test_a_burst_is_announced_once_and_redelivery_changes_nothing() -> None:
    store, sink = MemoryTrendStore(), Sink()
    engine = _engine(store, sink)
    cards = await engine.receive(_held(_burst()))
    assert [c.kind for c in cards] == ["emerging"]
    assert len(cards[0].channels) >= 3
    assert cards[0].posts
    before = {k: (s.size, dict(s.counts.counts)) for k, s in store.stories.items()}
    assert await engine.receive(_held(_burst())) == []
    assert {k: (s.size, dict(s.counts.counts)) for k, s in store.stories.items()} == before
    assert len(sink.published) == 1
    assert not store.inbox


def _key(d: Detection) -> tuple[str, str, object]:
    return (d.payload.trend_id, d.payload.kind, d.detected_at)


async def test_a_restarted_engine_continues_from_the_store() -> None:
    posts = _burst()
    whole_store, whole = MemoryTrendStore(), Sink()
    await _engine(whole_store, whole).receive(_held(posts))
    split_store, split = MemoryTrendStore(), Sink()
    await _engine(split_store, split).receive(_held(posts[:2]))
    again = _engine(split_store, split)  # a new process on the same store
    await again.recover()
    await again.receive(_held(posts[2:]))
    assert [_key(d) for d in split.published] == [_key(d) for d in whole.published]
    assert split_store.members == whole_store.members
    # The tenant's document frequencies came back from the store and went on counting.
    assert split_store.documents == whole_store.documents == {"acme": len(posts)}
    assert split_store.frequencies == whole_store.frequencies
    assert whole_store.frequencies["acme"]["сир"] == len(posts)


async def test_a_failed_save_loses_nothing_and_counts_nothing_twice() -> None:
    store, sink = MemoryTrendStore(), Sink()
    engine = _engine(store, sink)
    store.fail_next_save = True
    with pytest.raises(ConnectionError):
        await engine.receive(_held(_burst()))
    assert len(store.inbox) == 6
    assert not store.members
    assert not store.frequencies.get("acme")
    cards = await engine.drain()  # the posts are held again; memory was reloaded
    assert [c.kind for c in cards] == ["emerging"]
    assert len(store.members) == 6
    assert not store.inbox
    assert store.documents["acme"] == 6  # each post counted once in the idf


async def test_detections_stored_while_the_broker_is_down_are_published_later() -> None:
    store, sink = MemoryTrendStore(), Sink()
    engine = _engine(store, sink)
    sink.down = True
    await engine.receive(_held(_burst()))
    assert not sink.published
    assert len(await store.unpublished()) == 1
    sink.down = False
    assert await engine.flush() == 1
    assert len(sink.published) == 1
    assert not await store.unpublished()


async def test_report_gives_current_trends_scoped_by_channel_and_kind() -> None:
    store = MemoryTrendStore()
    engine = _engine(store, Sink())
    await engine.receive(_held(_burst()))
    everything = await engine.report("acme", ReportTrends(request_id="r1"))
    assert [c.kind for c in everything.cards] == ["emerging"]
    assert everything.as_of == _burst()[-1].date
    stable = await engine.report("acme", ReportTrends(request_id="r2", kinds=["stable"]))
    assert stable.cards == []
    scoped = await engine.report("acme", ReportTrends(request_id="r3", channels=["ch2"]))
    assert scoped.cards[0].channels == ("ch2",)
    nobody = await engine.report("other", ReportTrends(request_id="r4"))
    assert nobody.cards == []
    assert nobody.as_of is None


async def test_stale_stories_retire_in_the_store_as_event_time_moves_on() -> None:
    store, sink = MemoryTrendStore(), Sink()
    engine = _engine(store, sink)
    (card,) = await engine.receive(_held(_burst()))
    assert store.stories[("acme", card.trend_id)].status == "active"
    # 25 h of event time later (ttl 24 h) one post on the same topic arrives.
    late = indexed(40, channel="ch40", minutes=25 * 60)
    await engine.receive(_held([late]))
    assert store.stories[("acme", card.trend_id)].status == "retired"
    # It founded a new story instead of joining the retired one.
    (active,) = [s for s in store.stories.values() if s.status == "active"]
    assert active.story_id != card.trend_id
    assert [m.post_id for m in active.members] == [late.post_id]
    # What a restart loads: the active story only, and the clock where it stopped.
    stored = await store.load("acme", span_buckets=300)
    assert [s.story_id for s in stored.stories] == [active.story_id]
    restarted = _engine(store, Sink())
    report = await restarted.report("acme", ReportTrends(request_id="r5"))
    assert report.cards == []
    assert report.as_of == late.date
