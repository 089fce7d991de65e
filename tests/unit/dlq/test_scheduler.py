"""The scheduler with a fake store and publisher: what is due goes out once, addressed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from contracts import headers as H
from services.dlq.domain.routing import DELIVERY_ID
from services.dlq.domain.states import Status
from tests.unit.dlq.fakes import FakePublisher
from tests.unit.dlq.letters import POSTS, T0, dead_letter
from tests.unit.dlq.wiring import PREFIX, Rig

pytestmark = pytest.mark.unit


async def test_nothing_goes_out_before_it_is_due() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    rig.at(T0 + timedelta(seconds=59.999))
    assert await rig.scheduler.run_once() == 0
    assert rig.publisher.sent == []


async def test_due_entry_is_published_to_its_topic_addressed_to_its_group() -> None:
    rig = Rig()
    letter = dead_letter(key=b"k1")
    await rig.intake.accept([letter])
    rig.at(T0 + timedelta(seconds=60))
    assert await rig.scheduler.run_once() == 1
    ((lease, headers),) = rig.publisher.sent
    entry = next(iter(rig.store.rows.values())).summary
    assert lease.topic == PREFIX + POSTS
    assert lease.key == b"k1"
    assert lease.payload == letter.payload.original_payload()
    assert headers[H.ATTEMPT] == "2"
    assert headers[H.TARGET_CONSUMER_GROUP] == PREFIX + "probe"
    assert headers[H.DLQ_ENTRY_ID] == entry.id
    assert headers[DELIVERY_ID] == lease.token
    assert headers[H.EVENT_ID] == letter.payload.headers[H.EVENT_ID]
    # published and confirmed: waiting for the outcome, nothing scheduled
    assert (entry.status, entry.next_retry_at, entry.lease_owner) == (Status.RETRYING, None, None)
    assert entry.deliveries == 2
    assert rig.metric("tgi_dlq_retries_published_total", topic=POSTS) == 1
    # and never again while the outcome is awaited
    rig.at(T0 + timedelta(days=1))
    assert await rig.scheduler.run_once() == 0


async def test_two_schedulers_share_the_work_without_overlap() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter(offset=i) for i in range(250)])
    rig.at(T0 + timedelta(seconds=60))
    other = FakePublisher()
    second = rig.make_scheduler("replica-2", other)
    while await rig.scheduler.run_once() + await second.run_once():
        pass
    ids = [lease.entry_id for lease, _ in rig.publisher.sent + other.sent]
    assert len(ids) == len(set(ids)) == 250
    assert rig.publisher.sent
    assert other.sent


async def test_failed_publish_is_given_back_without_counting_an_attempt() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    entry_id = next(iter(rig.store.rows))
    rig.publisher.failing.add(entry_id)
    rig.at(T0 + timedelta(seconds=60))
    await rig.scheduler.run_once()
    entry = rig.store.rows[entry_id].summary
    assert (entry.status, entry.attempt, entry.deliveries) == (Status.PENDING, 1, 1)
    assert entry.next_retry_at == rig.clock.now() + timedelta(seconds=5)
    assert rig.metric("tgi_dlq_publish_failures_total", topic=POSTS) == 1
    rig.publisher.failing.clear()
    rig.at(rig.clock.now() + timedelta(seconds=5))
    await rig.scheduler.run_once()
    assert [h[H.ATTEMPT] for _, h in rig.publisher.sent] == ["2"]


async def test_lease_of_a_dead_owner_expires_and_is_taken_over_once() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    rig.at(T0 + timedelta(seconds=60))
    # a replica leased it and died before publishing
    dead = await rig.store.lease_due(owner="dead", now=rig.clock.now(), lease_s=60, limit=10)
    assert len(dead) == 1
    assert await rig.scheduler.run_once() == 0  # the lease still runs
    rig.at(rig.clock.now() + timedelta(seconds=60))
    assert await rig.scheduler.run_once() == 1
    assert await rig.scheduler.run_once() == 0
    assert len(rig.publisher.sent) == 1
    # the same attempt number the dead owner would have used
    assert rig.publisher.sent[0][1][H.ATTEMPT] == str(dead[0].delivery) == "2"
    assert rig.metric("tgi_dlq_lease_conflicts_total", kind="expired_takeover") == 1
    # the dead owner's confirmation, should it ever come, no longer holds
    confirmed, _taken = await rig.store.confirm_published(dead, rig.clock.now())
    assert confirmed == set()


async def test_stats_set_the_gauges() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter(offset=1), dead_letter(offset=2, category="invalid")])
    rig.at(T0 + timedelta(seconds=30))
    await rig.scheduler.refresh_stats()
    assert rig.metric("tgi_dlq_entries", topic=POSTS, status="pending") == 1
    assert rig.metric("tgi_dlq_entries", topic=POSTS, status="parked") == 1
    assert rig.metric("tgi_dlq_oldest_pending_age_seconds") == 30


async def test_run_loop_survives_an_unavailable_store() -> None:
    rig = Rig()
    rig.store.unavailable = 2
    task = asyncio.create_task(rig.scheduler.run())
    await asyncio.sleep(0.1)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rig.store.unavailable == 0
