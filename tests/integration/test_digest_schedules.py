"""Digest schedules on real Postgres and Kafka, time on a manual clock.

- the running service fires a due schedule by itself: exactly one ``digest.requested.v1``
  (the user's persona, the slot as ``until``, ids derived from schedule and slot), and the
  same service writes the digest; a disabled schedule never fires;
- two claimers (separate pools, as two replicas) racing on the same due schedules fire each
  of them once;
- a claimer that dies after publishing and before committing loses nothing: the next claim
  publishes the same event again, and the service still writes one digest for the slot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.registry import REGISTRY
from contracts.v1.digest import GenerateDigest
from servicekit.clock import ManualClock
from servicekit.postgres import PostgresResource
from servicekit.settings import load_settings
from services.digest.adapters.kafka_requests import KafkaDigestRequests
from services.digest.adapters.postgres_schedules import PostgresScheduleStore
from services.digest.app import MIGRATIONS, DigestDeps, build_app
from services.digest.metrics import build_digest_metrics
from services.digest.schedules.loop import LoopParams, ScheduleLoop
from services.digest.schedules.manage import Schedules
from services.digest.schedules.model import Schedule, ScheduleSpec, fire
from services.digest.settings import DigestSettings
from tests.conftest import new_prefix
from tests.helpers.kafka import eventually, read_topic
from tests.helpers.kit import running
from tests.unit.digest.fakes import FakePosts, post

pytestmark = pytest.mark.integration
CREATED = datetime(2024, 12, 4, 6, 0, tzinfo=UTC)
SLOT = datetime(2024, 12, 5, 5, 0, tzinfo=UTC)  # 08:00 in Moscow
AFTER_SLOT = datetime(2024, 12, 5, 5, 0, 7, tzinfo=UTC)
CHANNELS = ["korea_news", "space_news"]


def _posts(tenant: str) -> FakePosts:
    day = 30 * 60  # minutes from the fakes' T0 (2024-12-03 00:00) to 2024-12-04 06:00
    texts = [
        ("korea_news", "Президент Южной Кореи объявил о введении военного положения"),
        ("space_news", "В Южной Корее президент ввёл военное положение, парламент против"),
        ("korea_news", "Парламент Южной Кореи проголосовал за отмену военного положения"),
        ("space_news", "Астероид сгорел над Якутией, очевидцы сняли яркую вспышку"),
        ("korea_news", "Над Якутией упал астероид: вспышку видели в Олёкминске"),
    ]
    return FakePosts(
        [
            post(ch, n + 1, text, minutes=day + 60 * n, tenant=tenant)
            for n, (ch, text) in enumerate(texts)
        ],
        tenant=tenant,
    )


def _settings(bootstrap: str, prefix: str, dsn: str, interval_s: float) -> DigestSettings:
    return load_settings(
        DigestSettings,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        postgres_dsn=dsn,
        startup_timeout_s=60,
        handler_retry_base_s=0.05,
        log_level="WARNING",
        min_posts=0,
        schedule_interval_s=interval_s,
        schedule_publish_timeout_s=10,
    )


def _spec(name: str, **changes: Any) -> ScheduleSpec:
    values: dict[str, Any] = {
        "user_id": "reader",
        "name": name,
        "kind": "channel",
        "channels": CHANNELS,
        "period_days": 1,
        "cadence": "daily 08:00",
        "timezone": "Europe/Moscow",
        "formats": ["markdown", "telegram_html"],
    }
    values.update(changes)
    return ScheduleSpec.model_validate(values)


@pytest.fixture
async def db(pg_dsn: str) -> AsyncIterator[PostgresResource]:
    """The digest schema, migrated; schedules of the test's tenants removed afterwards, so
    that no other test's service loop finds them due."""
    res = PostgresResource(pg_dsn, schema="digest", migrations=MIGRATIONS, max_size=4)
    await res.start()
    try:
        yield res
    finally:
        await res.pool.execute("DELETE FROM digest.schedules WHERE tenant_id LIKE 'sch-%'")
        await res.close()


async def _all(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record of the prefixed ``….digest.requested.v1`` now (to its end offsets), as
    parsed envelopes."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        count = REGISTRY["digest.requested.v1"].partitions
        parts = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[dict[str, Any]] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += [json.loads(r.value) for r in records]
        return out
    finally:
        await consumer.stop()


async def test_service_fires_a_due_schedule_once_and_writes_the_digest(
    bootstrap: str, pg_dsn: str, db: PostgresResource
) -> None:
    tenant, prefix = "sch-svc", new_prefix("sch")
    clock = ManualClock(CREATED)
    app = build_app(
        _settings(bootstrap, prefix, pg_dsn, interval_s=0.2),
        DigestDeps(posts=_posts(tenant)),
        clock=clock,
    )
    async with running(app.kit):
        schedules: Schedules = app.deps.schedules
        on = await schedules.add(tenant, _spec("morning"))
        off = await schedules.add(tenant, _spec("paused", enabled=False))
        assert on.next_due_at == off.next_due_at == SLOT
        await asyncio.sleep(0.6)  # ticks before the slot: nothing is due
        assert await _all(bootstrap, prefix + "digest.requested.v1") == []
        clock.set(AFTER_SLOT)
        expected = fire(on, AFTER_SLOT)
        done = await read_topic(
            bootstrap,
            prefix + "digest.completed.v1",
            until=lambda rs: any(expected.run_id in r.value.decode() for r in rs),
            timeout_s=60,
        )
        await asyncio.sleep(1.0)  # several more ticks at the same time: nothing more
        requests = await _all(bootstrap, prefix + "digest.requested.v1")
        rows = {s.name: s for s in await schedules.list(tenant)}
        registry = app.kit.metrics.registry
    assert len(requests) == 1, requests
    [req] = requests
    assert req["event_id"] == expected.event_id
    assert req["tenant_id"] == tenant
    assert req["producer"].startswith("digest@")
    cmd = GenerateDigest.model_validate(req["payload"])
    assert cmd == expected.command
    assert cmd.run_id == f"sched-{on.schedule_id}-20241205T050000Z"
    assert (cmd.user_id, cmd.persona_id, cmd.until) == ("reader", "reader", SLOT)
    [result] = [json.loads(r.value)["payload"] for r in done]
    assert result["run_id"] == cmd.run_id
    assert result["status"] in ("completed", "quality_low"), result
    assert result["items"]
    assert result["telegram_html"]
    assert rows["morning"].next_due_at == datetime(2024, 12, 6, 5, 0, tzinfo=UTC)
    assert rows["morning"].last_run_id == cmd.run_id
    assert rows["paused"].next_due_at == SLOT
    assert rows["paused"].last_run_id is None
    assert registry.get_sample_value("digest_schedules_fired_total", {"kind": "channel"}) == 1
    assert registry.get_sample_value("digest_schedule_lag_seconds") == 0
    stored = await db.pool.fetchval(
        "SELECT count(*) FROM digest.digests WHERE tenant_id = $1", tenant
    )
    assert stored == 1


class _Slow:
    """Publishes for real after a pause, so that two claims overlap."""

    def __init__(self, inner: KafkaDigestRequests, pause_s: float) -> None:
        self._inner = inner
        self._pause_s = pause_s

    async def request(
        self, tenant_id: str, command: GenerateDigest, *, event_id: str, occurred_at: datetime
    ) -> None:
        await asyncio.sleep(self._pause_s)
        await self._inner.request(tenant_id, command, event_id=event_id, occurred_at=occurred_at)


class _DiesAfterPublishing(_Slow):
    """Publishes (acknowledged), then hangs until its process is 'killed' (cancelled)."""

    async def request(
        self, tenant_id: str, command: GenerateDigest, *, event_id: str, occurred_at: datetime
    ) -> None:
        await super().request(tenant_id, command, event_id=event_id, occurred_at=occurred_at)
        await asyncio.Event().wait()


def _loop(store: PostgresScheduleStore, requests: Any, clock: ManualClock) -> ScheduleLoop:
    metrics = build_digest_metrics(_registry()).schedules
    return ScheduleLoop(store, requests, metrics, clock, LoopParams(publish_timeout_s=10))


def _registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


async def test_two_claimers_fire_each_slot_once(
    bootstrap: str, pg_dsn: str, db: PostgresResource
) -> None:
    tenant, prefix = "sch-race", new_prefix("sch")
    clock = ManualClock(CREATED)
    # a service with an idle loop, for its publisher (and to consume nothing here)
    app = build_app(_settings(bootstrap, prefix, pg_dsn, interval_s=3600), clock=clock)
    other = PostgresResource(pg_dsn, schema="digest", migrations=None, max_size=2)
    await other.start()
    try:
        async with running(app.kit):
            schedules = Schedules(PostgresScheduleStore(db, deployment=prefix), clock)
            made = [await schedules.add(tenant, _spec(f"s{n}")) for n in range(4)]
            clock.set(AFTER_SLOT)
            requests = _Slow(KafkaDigestRequests(app.kit.publisher, timeout_s=10), 0.5)
            a = _loop(PostgresScheduleStore(db, deployment=prefix), requests, clock)
            b = _loop(PostgresScheduleStore(other, deployment=prefix), requests, clock)
            claimed = await asyncio.gather(a.run_once(), b.run_once())
            again = await asyncio.gather(a.run_once(), b.run_once())
            published = await _all(bootstrap, prefix + "digest.requested.v1")
    finally:
        await other.close()
    assert sum(claimed) == 4
    assert list(again) == [0, 0]
    run_ids = sorted(e["payload"]["run_id"] for e in published)
    assert run_ids == sorted(fire(s, AFTER_SLOT).run_id for s in made)


async def test_death_between_publish_and_commit_republishes_the_same_event_one_digest(
    bootstrap: str, pg_dsn: str, db: PostgresResource
) -> None:
    tenant, prefix = "sch-crash", new_prefix("sch")
    clock = ManualClock(CREATED)
    app = build_app(
        _settings(bootstrap, prefix, pg_dsn, interval_s=3600),
        DigestDeps(posts=_posts(tenant)),
        clock=clock,
    )
    store = PostgresScheduleStore(db, deployment=prefix)
    async with running(app.kit):
        s: Schedule = await Schedules(store, clock).add(tenant, _spec("morning"))
        clock.set(AFTER_SLOT)
        kafka = KafkaDigestRequests(app.kit.publisher, timeout_s=10)
        dying = asyncio.create_task(_loop(store, _DiesAfterPublishing(kafka, 0), clock).run_once())
        topic = prefix + "digest.requested.v1"
        await eventually(lambda: _all(bootstrap, topic), timeout_s=30)  # published…
        dying.cancel()  # …and the claimer dies before its commit
        with pytest.raises(asyncio.CancelledError):
            await dying
        still = await store.get(tenant, s.schedule_id)
        assert still is not None
        assert still.next_due_at == SLOT
        clock.set(datetime(2024, 12, 5, 5, 0, 40, tzinfo=UTC))  # the next tick, a bit later
        assert await _loop(store, kafka, clock).run_once() == 1
        run_id = fire(s, AFTER_SLOT).run_id
        done = await read_topic(
            bootstrap,
            prefix + "digest.completed.v1",
            until=lambda rs: sum(run_id in r.value.decode() for r in rs) >= 2,
            timeout_s=60,
        )
        requests = await _all(bootstrap, topic)
        after = await store.get(tenant, s.schedule_id)
    first, second = requests
    assert first == second  # the same event, byte for byte once parsed
    completed = [json.loads(r.value) for r in done]
    assert completed[0]["event_id"] == completed[1]["event_id"]  # one digest, sent twice
    assert completed[0]["payload"] == completed[1]["payload"]
    runs = await db.pool.fetch("SELECT run_id FROM digest.runs WHERE tenant_id = $1", tenant)
    assert [r["run_id"] for r in runs] == [run_id]
    assert after is not None
    assert after.next_due_at == datetime(2024, 12, 6, 5, 0, tzinfo=UTC)


async def test_migration_refuses_rows_the_contract_refuses(db: PostgresResource) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db.pool.execute(
            "INSERT INTO digest.schedules (schedule_id, tenant_id, user_id, name, kind,"
            " channels, period_days, window_hours, cadence, next_due_at)"
            " VALUES (gen_random_uuid(), 'sch-sql', 'u', 'n', 'channel', '{a}', 7, 6,"
            " 'daily 08:00', now())"
        )


async def test_a_deployment_sees_and_fires_only_its_own_schedules(db: PostgresResource) -> None:
    """Two installations on one Postgres (another topic prefix): neither lists, changes,
    removes or claims the other's schedules."""
    tenant, clock = "sch-scope", ManualClock(CREATED)
    mine, theirs = new_prefix("schA"), new_prefix("schB")
    ours = Schedules(PostgresScheduleStore(db, deployment=mine), clock)
    other_store = PostgresScheduleStore(db, deployment=theirs)
    other = Schedules(other_store, clock)
    s = await ours.add(tenant, _spec("morning"))
    assert [x.schedule_id for x in await ours.list(tenant)] == [s.schedule_id]
    assert await other.list(tenant) == []
    assert await other_store.get(tenant, s.schedule_id) is None
    assert await other_store.remove(tenant, s.schedule_id) is False
    assert await other_store.set_enabled(tenant, s.schedule_id, False, next_due_at=SLOT) is None
    # the same name is free in the other deployment; each claims only its own row
    t = await other.add(tenant, _spec("morning"))
    assert t.schedule_id != s.schedule_id
    async with other_store.claim_due(AFTER_SLOT, limit=100, hold_s=5) as claim:
        assert [x.schedule_id for x in claim.schedules if x.tenant_id == tenant] == [t.schedule_id]
    async with PostgresScheduleStore(db, deployment=mine).claim_due(
        AFTER_SLOT, limit=100, hold_s=5
    ) as claim:
        assert [x.schedule_id for x in claim.schedules if x.tenant_id == tenant] == [s.schedule_id]
