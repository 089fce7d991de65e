"""The shared runtime against a real Kafka broker: delivery, commits, dead letters, retries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import pytest

from contracts import headers as H
from contracts.envelope import Envelope
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from servicekit.errors import InvalidMessage, RetryableError
from tests.helpers.kafka import committed_offset, eventually, produce, read_topic
from tests.helpers.kit import post_envelope, probe_settings, running, wire

pytestmark = pytest.mark.integration
POSTS = "posts.ingested.v1"


def _dead_letters(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


async def test_event_reaches_handler_once_and_lifecycle_follows(
    bootstrap: str, prefix: str
) -> None:
    seen: list[str] = []
    kit = ServiceKit(probe_settings(bootstrap, prefix))

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen.append(envelope.event_id)
        await kit.lifecycle.emit(
            "run_completed",
            tenant_id=envelope.tenant_id,
            run_id=envelope.correlation_id,
            domain="probe",
            cause=envelope,
        )

    kit.consume(POSTS, handle)
    env = post_envelope()
    async with running(kit):
        value, headers = wire(env)
        await produce(bootstrap, prefix + POSTS, value, key=b"acme:naked_science", headers=headers)
        records = await read_topic(
            bootstrap, prefix + "lifecycle.v1", until=lambda rs: len(rs) >= 1
        )
        await asyncio.sleep(1.0)  # time for a wrong second delivery to show up
    assert seen == [env.event_id]
    lifecycle = json.loads(records[0].value)
    assert lifecycle["causation_id"] == env.event_id
    assert lifecycle["payload"]["kind"] == "run_completed"
    assert await committed_offset(bootstrap, prefix + "probe", prefix + POSTS) == 1


async def test_invalid_input_is_dead_lettered_committed_and_next_processed(
    bootstrap: str, prefix: str
) -> None:
    processed: list[int] = []
    kit = ServiceKit(probe_settings(bootstrap, prefix))

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        if envelope.payload.message_id == 1:
            raise InvalidMessage("message 1 is refused by a business rule")
        processed.append(envelope.payload.message_id)

    kit.consume(POSTS, handle)
    bad, good = post_envelope(1), post_envelope(2)
    async with running(kit):
        for env in (bad, good):
            value, headers = wire(env)
            await produce(bootstrap, prefix + POSTS, value, key=b"k1", headers=headers)
        await eventually(lambda: processed == [2])
        records = await read_topic(
            bootstrap, prefix + "deadletter.v1", until=lambda rs: len(rs) >= 1
        )
    letter = json.loads(records[0].value)
    dl = letter["payload"]
    assert dl["original_topic"] == prefix + POSTS
    assert dl["partition"] >= 0
    assert dl["offset"] == 0
    assert dl["error_category"] == "invalid"
    assert dl["error_class"].endswith("InvalidMessage")
    assert "business rule" in dl["error_message"]
    assert dl["service"] == "probe"
    assert dl["consumer_group"] == prefix + "probe"
    assert dl["attempt"] == 1
    assert base64.b64decode(dl["payload_b64"]) == wire(bad)[0]
    assert base64.b64decode(dl["key_b64"]) == b"k1"
    assert dl["headers"][H.EVENT_ID] == bad.event_id
    kafka_headers = {k: v.decode() for k, v in records[0].headers}
    assert kafka_headers[H.DLQ_ORIGINAL_TOPIC] == prefix + POSTS
    assert kafka_headers[H.DLQ_ERROR_CLASS].endswith("InvalidMessage")
    assert await committed_offset(bootstrap, prefix + "probe", prefix + POSTS) == 2


async def test_retryable_error_is_retried_then_processed(bootstrap: str, prefix: str) -> None:
    calls: list[str] = []
    kit = ServiceKit(probe_settings(bootstrap, prefix, handler_retries=3))

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        calls.append(envelope.event_id)
        if len(calls) < 3:
            raise RetryableError("store briefly down")

    kit.consume(POSTS, handle)
    env = post_envelope()
    async with running(kit):
        value, headers = wire(env)
        await produce(bootstrap, prefix + POSTS, value, headers=headers)
        await eventually(lambda: len(calls) == 3)
        retries = await read_topic(
            bootstrap, prefix + "lifecycle.v1", until=lambda rs: len(rs) >= 2
        )
        await eventually(lambda: committed_offset(bootstrap, prefix + "probe", prefix + POSTS))
    assert calls == [env.event_id] * 3
    assert [json.loads(r.value)["payload"]["kind"] for r in retries] == ["retry", "retry"]
    assert await committed_offset(bootstrap, prefix + "probe", prefix + POSTS) == 1


async def test_retryable_error_that_persists_is_dead_lettered_as_retryable(
    bootstrap: str, prefix: str
) -> None:
    kit = ServiceKit(probe_settings(bootstrap, prefix, handler_retries=2))
    calls = 0

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("neo4j unreachable")

    kit.consume(POSTS, handle)
    async with running(kit):
        value, headers = wire(post_envelope())
        await produce(bootstrap, prefix + POSTS, value, headers=headers)
        records = await read_topic(
            bootstrap, prefix + "deadletter.v1", until=lambda rs: len(rs) >= 1
        )
    dl = json.loads(records[0].value)["payload"]
    assert calls == 3
    assert dl["error_category"] == "retryable"
    assert dl["error_class"].endswith("ConnectionError")


async def test_message_for_another_consumer_group_is_skipped(bootstrap: str, prefix: str) -> None:
    seen: list[int] = []
    kit = ServiceKit(probe_settings(bootstrap, prefix))

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen.append(envelope.payload.message_id)

    kit.consume(POSTS, handle)
    async with running(kit):
        for n, target in ((1, "someone-else"), (2, prefix + "probe"), (3, None)):
            value, headers = wire(post_envelope(n))
            if target:
                headers[H.TARGET_CONSUMER_GROUP] = target
            await produce(bootstrap, prefix + POSTS, value, headers=headers)
        await eventually(lambda: seen == [2, 3])
    assert seen == [2, 3]


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("not json", lambda env: (b"\x00{not json", {})),
        (
            "unknown event type",
            lambda env: (
                wire(env)[0].replace(b'"posts.ingested"', b'"posts.exploded"'),
                {},
            ),
        ),
        (
            "unknown schema version",
            lambda env: (wire(env)[0].replace(b'"schema_version":1', b'"schema_version":9'), {}),
        ),
        (
            "wrong type header",
            lambda env: (wire(env)[0], {**wire(env)[1], H.EVENT_TYPE: "digest.requested"}),
        ),
        ("5 MB message", lambda env: (b'{"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}', {})),
    ],
)
async def test_bad_input_is_dead_lettered_with_reason_and_consumer_goes_on(
    bootstrap: str, prefix: str, label: str, make: Any
) -> None:
    processed: list[int] = []
    kit = ServiceKit(probe_settings(bootstrap, prefix))

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        processed.append(envelope.payload.message_id)

    kit.consume(POSTS, handle)
    value, headers = make(post_envelope(1))
    async with running(kit):
        await produce(bootstrap, prefix + POSTS, value, headers=headers)
        good_value, good_headers = wire(post_envelope(2))
        await produce(bootstrap, prefix + POSTS, good_value, headers=good_headers)
        await eventually(lambda: processed == [2])
        records = await read_topic(
            bootstrap, prefix + "deadletter.v1", until=lambda rs: len(rs) >= 1
        )
    dl = json.loads(records[0].value)["payload"]
    assert dl["error_category"] == "invalid", label
    assert dl["error_message"], label
    kept = base64.b64decode(dl["payload_b64"])
    if len(value) > 1024 * 1024:  # too big to keep whole: a prefix, the size and the hash
        assert dl["payload_truncated"] is True
        assert dl["original_size"] == len(value)
        assert dl["payload_sha256"] == hashlib.sha256(value).hexdigest()
        assert value.startswith(kept)
    else:
        assert kept == value
    assert processed == [2]


async def test_topic_creation_can_be_left_to_provisioning(bootstrap: str, prefix: str) -> None:
    """With ``kafka_create_topics`` off, a kit creates only its own reply topic."""
    from aiokafka.admin import AIOKafkaAdminClient

    kit = ServiceKit(probe_settings(bootstrap, prefix, kafka_create_topics=False))
    rpc = kit.rpc()
    async with running(kit):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            mine = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        finally:
            await admin.close()
    assert mine == [rpc.reply_topic]
