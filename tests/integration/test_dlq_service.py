"""The DLQ service against real Kafka and Postgres, driving a probe consumer that fails."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from contracts.envelope import Envelope
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from servicekit.errors import InvalidMessage, RetryableError
from services.dlq.domain.states import Status
from tests.helpers.auth import INTERNAL_HEADERS
from tests.helpers.kafka import eventually, produce, read_topic
from tests.helpers.kit import post_envelope, probe_settings, running, wire
from tests.unit.dlq.live import (
    dlq_settings,
    entries,
    parts,
    read_all,
    retries_by_entry,
    running_dlq,
)

pytestmark = pytest.mark.integration
POSTS = "posts.ingested.v1"


def _probe(bootstrap: str, prefix: str, group: str = "probe") -> ServiceKit:
    # no in-process retries: every failure is dead-lettered at once, the DLQ drives the retries
    return ServiceKit(probe_settings(bootstrap, prefix, handler_retries=0, consumer_group=group))


async def _publish(bootstrap: str, prefix: str, env: Envelope[Any]) -> None:
    value, headers = wire(env)
    await produce(bootstrap, prefix + POSTS, value, key=b"acme:naked_science", headers=headers)


async def _one_entry(app: Any, status: Status) -> Any:
    async def check() -> Any:
        found = await entries(app, statuses=(status,))
        return found[0] if found else None

    return await eventually(check, timeout_s=30)


async def test_fails_twice_then_succeeds_once_after_the_backoff(
    bootstrap: str, prefix: str, pg_dsn: str
) -> None:
    base = 0.4
    probe = _probe(bootstrap, prefix)
    entered: list[tuple[int, float]] = []
    raised: list[float] = []
    effects: list[str] = []

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        entered.append((ctx.attempt, time.monotonic()))
        if len(entered) <= 2:
            raised.append(time.monotonic())
            raise RetryableError("store briefly down")
        effects.append(envelope.event_id)

    probe.consume(POSTS, handle)
    settings = dlq_settings(bootstrap, prefix, pg_dsn, retry_base_s=base)
    async with running_dlq(settings) as dlq, running(probe):
        env = post_envelope()
        await _publish(bootstrap, prefix, env)
        entry = await _one_entry(dlq, Status.RESOLVED)
        await asyncio.sleep(1.5)  # room for a wrong extra delivery to show up
        assert (await entries(dlq))[0].status is Status.RESOLVED
    assert effects == [env.event_id]
    assert [attempt for attempt, _ in entered] == [1, 2, 3]
    gaps = [entered[1][1] - raised[0], entered[2][1] - raised[1]]
    # never earlier than base · 2^(n-1) after the failure (and not absurdly later)
    assert base <= gaps[0] < base + 5, gaps
    assert 2 * base <= gaps[1] < 2 * base + 5, gaps
    assert (entry.attempt, entry.deliveries, entry.max_attempts) == (2, 3, 3)
    metrics = parts(dlq).metrics
    assert metrics.resolved.labels(topic=POSTS)._value.get() == 1
    assert metrics.retries_published.labels(topic=POSTS)._value.get() == 2


async def test_poison_is_parked_at_once_and_never_retried(
    bootstrap: str, prefix: str, pg_dsn: str
) -> None:
    probe = _probe(bootstrap, prefix)
    calls: list[int] = []

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        calls.append(ctx.attempt)
        raise InvalidMessage("channel id refused by a business rule")

    probe.consume(POSTS, handle)
    settings = dlq_settings(bootstrap, prefix, pg_dsn, retry_base_s=0.1)
    async with running_dlq(settings) as dlq, running(probe):
        await _publish(bootstrap, prefix, post_envelope())
        await produce(bootstrap, prefix + POSTS, b"not json at all")
        await eventually(lambda: _count(entries(dlq, statuses=(Status.PARKED,)), 2), timeout_s=30)
        await asyncio.sleep(1.5)  # ten base delays: a retry would have happened by now
        parked = await entries(dlq)
    assert calls == [1]
    assert {e.status for e in parked} == {Status.PARKED}
    assert {e.error_category for e in parked} == {"invalid"}
    assert all(e.next_retry_at is None and e.deliveries == 1 for e in parked)
    records = await read_all(bootstrap, prefix + POSTS)
    assert len(records) == 2  # the two originals, no retry


async def _count(query: Any, n: int) -> bool:
    return len(await query) == n


async def test_always_failing_fails_permanently_after_three_attempts(
    bootstrap: str, prefix: str, pg_dsn: str
) -> None:
    probe = _probe(bootstrap, prefix)
    attempts: list[int] = []

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        attempts.append(ctx.attempt)
        raise RetryableError("always down")

    probe.consume(POSTS, handle)
    settings = dlq_settings(bootstrap, prefix, pg_dsn, retry_base_s=0.1)
    async with running_dlq(settings) as dlq, running(probe):
        await _publish(bootstrap, prefix, post_envelope())
        entry = await _one_entry(dlq, Status.FAILED_PERMANENTLY)

        def dlq_error(records: list[Any]) -> bool:
            return any(_is_dlq_error(r, entry.id) for r in records)

        await read_topic(bootstrap, prefix + "lifecycle.v1", until=dlq_error, timeout_s=30)
        await asyncio.sleep(1.0)
        permanent = parts(dlq).metrics.permanent_failures.labels(topic=POSTS)._value.get()
    assert attempts == [1, 2, 3]
    assert (entry.attempt, entry.next_retry_at, entry.deliveries) == (3, None, 3)
    assert permanent == 1


def _is_dlq_error(record: Any, entry_id: str) -> bool:
    event = json.loads(record.value)
    payload = event["payload"]
    return bool(
        event["producer"].startswith("dlq@")
        and payload["kind"] == "error"
        and payload["details"].get("dlq_entry_id") == entry_id
        and payload["details"].get("status") == "failed_permanently"
    )


async def test_retry_reaches_only_the_consumer_group_that_failed(
    bootstrap: str, prefix: str, pg_dsn: str
) -> None:
    failing, healthy = _probe(bootstrap, prefix, "a"), _probe(bootstrap, prefix, "b")
    seen_a: list[int] = []
    seen_b: list[int] = []

    async def handle_a(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen_a.append(ctx.attempt)
        if len(seen_a) == 1:
            raise RetryableError("a's store is down")

    async def handle_b(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen_b.append(ctx.attempt)

    failing.consume(POSTS, handle_a)
    healthy.consume(POSTS, handle_b)
    settings = dlq_settings(bootstrap, prefix, pg_dsn, retry_base_s=0.2)
    async with running_dlq(settings) as dlq, running(failing), running(healthy):
        await _publish(bootstrap, prefix, post_envelope())
        entry = await _one_entry(dlq, Status.RESOLVED)
        records = await read_topic(bootstrap, prefix + POSTS, until=lambda rs: len(rs) >= 2)
        await asyncio.sleep(1.0)
    assert entry.consumer_group == prefix + "a"
    assert seen_a == [1, 2]
    assert seen_b == [1]  # the retry was on b's topic too, and b skipped it
    assert retries_by_entry(records) == {entry.id: 1}
    skipped = healthy.metrics.consumed.labels(topic=POSTS, outcome="skipped_other_group")
    assert skipped._value.get() == 1


async def test_operator_park_replay_purge_end_to_end_each_recorded(
    bootstrap: str, prefix: str, pg_dsn: str
) -> None:
    probe = _probe(bootstrap, prefix)
    healthy = asyncio.Event()
    processed: list[int] = []

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        if envelope.payload.message_id == 2:
            raise InvalidMessage("poison")
        if not healthy.is_set():
            raise RetryableError("down until an operator fixes it")
        processed.append(ctx.attempt)

    probe.consume(POSTS, handle)
    settings = dlq_settings(bootstrap, prefix, pg_dsn, retry_base_s=0.1, max_attempts=2)
    async with running_dlq(settings) as dlq, running(probe):
        transport = httpx.ASGITransport(app=dlq.http)
        ops = httpx.AsyncClient(
            transport=transport,
            base_url="http://dlq",
            headers={"X-Operator": "ann", **INTERNAL_HEADERS},
        )
        await _publish(bootstrap, prefix, post_envelope(1))
        await _publish(bootstrap, prefix, post_envelope(2))
        failed = await _one_entry(dlq, Status.FAILED_PERMANENTLY)
        await _one_entry(dlq, Status.PARKED)

        r = await ops.post(f"/v1/entries/{failed.id}/park", json={"reason": "look later"})
        assert r.status_code == 200, r.text
        healthy.set()
        r = await ops.post(f"/v1/entries/{failed.id}/replay", json={"reason": "fixed"})
        assert r.status_code == 200, r.text
        await _one_entry(dlq, Status.RESOLVED)
        shown = (await ops.get(f"/v1/entries/{failed.id}")).json()
        assert shown["payload"]["value"]["payload"]["message_id"] == 1
        assert (shown["replays"], shown["attempt"], shown["deliveries"]) == (1, 0, 3)

        # a resolved entry cannot be replayed; bad input is a 4xx from the real store too
        assert (await ops.post(f"/v1/entries/{failed.id}/replay")).status_code == 409
        assert (await ops.get("/v1/entries", params={"limit": 5000})).status_code == 422
        assert (await ops.get("/v1/entries/" + "f" * 36)).status_code == 422

        r = await ops.post(f"/v1/entries/{failed.id}/purge", json={"reason": "done"})
        assert r.status_code == 200, r.text
        r = await ops.post("/v1/actions/purge", json={"filter": {"status": ["parked"]}})
        assert r.json()["changed_count"] == 1

        def four_episodes(records: list[Any]) -> bool:
            return len(_operator_episodes(records)) >= 4

        records = await read_topic(bootstrap, prefix + "lifecycle.v1", until=four_episodes)
        await ops.aclose()
    assert processed == [3]
    episodes = _operator_episodes(records)
    assert [e["action"] for e in episodes] == ["park", "replay", "purge", "purge"]
    assert all(e["operator"] == "ann" for e in episodes)
    assert episodes[0]["ids"] == [failed.id]
    assert episodes[0]["reason"] == "look later"


def _operator_episodes(records: list[Any]) -> list[dict[str, Any]]:
    """Operator episodes in the order they happened (they span partitions)."""
    found = []
    for r in records:
        event = json.loads(r.value)
        if event["payload"]["domain"] == "dlq-operator":
            when = datetime.fromisoformat(event["occurred_at"])
            found.append((when, event["payload"]["details"]))
    return [details for _, details in sorted(found, key=lambda pair: pair[0])]
