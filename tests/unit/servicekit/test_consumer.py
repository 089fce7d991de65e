"""The consume loop with FastStream's in-memory broker: outcomes per kind of input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from contracts import headers as H
from contracts.envelope import Envelope
from servicekit.app import ServiceKit
from servicekit.clock import ManualClock
from servicekit.consumer import MessageContext
from servicekit.errors import InvalidMessage
from tests.helpers.kit import post_envelope, probe_settings, wire

pytestmark = pytest.mark.unit
POSTS = "posts.ingested.v1"


def _kit(
    clock: ManualClock | None = None, **overrides: Any
) -> tuple[ServiceKit, list[dict[str, Any]]]:
    settings = probe_settings("127.0.0.1:1", "u.", **overrides)
    kit = ServiceKit(settings, ensure_topics=False, clock=clock)
    letters: list[dict[str, Any]] = []

    @kit.broker.subscriber("u.deadletter.v1")
    async def capture(body: dict[str, Any]) -> None:
        letters.append(body)

    @kit.broker.subscriber("u.lifecycle.v1")
    async def ignore(body: dict[str, Any]) -> None:
        return None

    return kit, letters


async def test_valid_message_runs_handler() -> None:
    kit, letters = _kit()
    seen: list[int] = []

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen.append(envelope.payload.message_id)

    kit.consume(POSTS, handle)
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(post_envelope(5))
        await br.publish(value, "u." + POSTS, headers=headers)
    assert seen == [5]
    assert letters == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json at all", "JSON"),
        (b'{"event_id": 1}', "event"),
        (b"[1, 2, 3]", ""),
    ],
)
async def test_unparseable_message_is_dead_lettered(value: bytes, reason: str) -> None:
    kit, letters = _kit()

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        raise AssertionError("must not be called")

    kit.consume(POSTS, handle)
    async with TestKafkaBroker(kit.broker) as br:
        await br.publish(value, "u." + POSTS)
    assert len(letters) == 1
    letter = letters[0]["payload"]
    assert letter["error_category"] == "invalid"
    assert reason.lower() in letter["error_message"].lower()
    assert letters[0]["tenant_id"] == "unknown"


async def test_oversized_message_is_dead_lettered_without_parsing() -> None:
    kit, letters = _kit(max_message_bytes=2048)

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        raise AssertionError("must not be called")

    kit.consume(POSTS, handle)
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(post_envelope(text="я" * 4000))
        await br.publish(value, "u." + POSTS, headers=headers)
    assert "exceeds the 2048-byte limit" in letters[0]["payload"]["error_message"]
    assert letters[0]["tenant_id"] == "acme"  # from the headers, since the body was not parsed


async def test_handler_invalid_is_not_retried() -> None:
    kit, letters = _kit(handler_retries=3)
    calls = 0

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        nonlocal calls
        calls += 1
        raise InvalidMessage("refused")

    kit.consume(POSTS, handle)
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(post_envelope())
        await br.publish(value, "u." + POSTS, headers=headers)
    assert calls == 1
    assert letters[0]["payload"]["error_category"] == "invalid"


async def test_consumer_pauses_at_the_dead_letter_limit_and_resumes() -> None:
    clock = ManualClock(datetime(2024, 12, 4, tzinfo=UTC))
    kit, letters = _kit(clock, dlq_limit_count=2, dlq_limit_window_s=60, dlq_pause_s=30)
    seen: list[int] = []

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen.append(envelope.payload.message_id)

    consumer = kit.consume(POSTS, handle)
    async with TestKafkaBroker(kit.broker) as br:
        await br.publish(b"garbage 1", "u." + POSTS)
        assert not consumer.paused
        await br.publish(b"garbage 2", "u." + POSTS)
        assert consumer.paused
        kit._state.started = True  # readiness as a started service would report it
        ok, report = await kit.readiness()
        assert not ok
        assert "paused" in report["consumers"]
        value, headers = wire(post_envelope(3))
        await br.publish(value, "u." + POSTS, headers=headers)
        assert seen == []  # held back (rewound) while paused
        clock.advance(31)
        await br.publish(value, "u." + POSTS, headers=headers)
    assert seen == [3]
    assert len(letters) == 2
    assert not consumer.paused


async def test_wrong_event_type_header_is_refused_before_parsing() -> None:
    kit, letters = _kit()
    kit.consume(POSTS, _never_called)
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(post_envelope())
        headers[H.EVENT_TYPE] = "digest.requested"
        await br.publish(value, "u." + POSTS, headers=headers)
    assert "does not belong" in letters[0]["payload"]["error_message"]


async def _never_called(envelope: Envelope[Any], ctx: MessageContext) -> None:
    raise AssertionError("must not be called")


async def test_batch_handler_gets_valid_envelopes_and_poison_is_isolated() -> None:
    kit, letters = _kit(handler_retries=1)
    batches: list[list[int]] = []

    async def handle(items: list[tuple[Envelope[Any], MessageContext]]) -> None:
        ids = [env.payload.message_id for env, _ in items]
        batches.append(ids)
        if 2 in ids:
            raise ValueError("message 2 breaks the batch")

    kit.consume_batch(POSTS, handle)
    async with TestKafkaBroker(kit.broker) as br:
        msgs = [wire(post_envelope(n))[0] for n in (1, 2, 3)]
        await br.publish_batch(b"garbage", *msgs, topic="u." + POSTS)
    # whole batch twice (1 retry), then one by one: 1 ok, 2 fails twice, 3 ok
    assert batches[:2] == [[1, 2, 3], [1, 2, 3]]
    assert batches[2:] == [[1], [2], [2], [3]]
    categories = sorted(letter["payload"]["error_category"] for letter in letters)
    assert categories == ["invalid", "retryable"]
