"""Bad input on every consumed topic: each bad record is parked in the DLQ with a reason, and
the consumer keeps going (a good record after the bad ones is consumed, not dead-lettered).

The topics and their consumer groups come from the topic registry, so a new consumer is
covered automatically. The DLQ's own raw subscription to ``lifecycle.v1`` (it only watches for
retry successes and never dead-letters) is not a registry consumer of bad input.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from contracts.examples import example_paths
from contracts.ids import new_event_id
from contracts.registry import REGISTRY
from contracts.spec import SERVICES
from tests.helpers.chaos import Producer, committed, eventually
from tests.security.conftest import SecureStack

pytestmark = [pytest.mark.security, pytest.mark.timeout(600)]

CONSUMED = sorted(
    (topic, service)
    for topic, spec in REGISTRY.items()
    for service in spec.consumers
    if service in SERVICES and not (topic == "lifecycle.v1" and service == "dlq")
)


def _example(topic: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(example_paths(topic)[0].read_bytes())
    return doc


def _fresh(doc: dict[str, Any], tenant: str) -> dict[str, Any]:
    event_id = new_event_id()
    return {**doc, "event_id": event_id, "idempotency_key": event_id, "tenant_id": tenant}


def _wrong_types(value: Any) -> Any:
    """Every payload field replaced by a value of the wrong JSON type."""
    return [] if not isinstance(value, list) else "not-a-list"


def _long_strings(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: ("ж" * 70_000 if isinstance(v, str) else v) for k, v in payload.items()}


def bad_records(topic: str, tenant: str) -> dict[str, bytes]:
    """The kinds of bad input, by name: each must be parked, none may stop the consumer."""
    good = _fresh(_example(topic), tenant)
    wrong = {**good, "payload": {k: _wrong_types(v) for k, v in good["payload"].items()}}
    version = {**good, "schema_version": 99}
    long_text = {**good, "payload": _long_strings(good["payload"])}
    depth = 100_000
    nested = b'{"event_type": "x", "payload": ' + b"[" * depth + b"]" * depth + b"}"
    valid = json.dumps(_fresh(_example(topic), tenant)).encode()
    return {
        "malformed_json": b'{"event_type": "' + topic.encode() + b'", "payload": {',
        "wrong_types": json.dumps(wrong).encode(),
        "unknown_version": json.dumps(version).encode(),
        "oversized": valid[:-1] + b" " * (REGISTRY[topic].max_message_bytes + 50_000) + b"}",
        "nul_bytes": valid[: len(valid) // 2] + b"\x00\x00" + valid[len(valid) // 2 :],
        "very_long_text": json.dumps(long_text, ensure_ascii=False).encode(),
        "deeply_nested": nested,
    }


async def test_bad_input_on_every_consumed_topic_is_parked_and_consumers_keep_going(
    secure: SecureStack,
) -> None:
    tenant = f"poison{uuid.uuid4().hex[:6]}"
    topics = sorted({t for t, _ in CONSUMED})
    bad: dict[str, tuple[int, dict[int, str]]] = {}  # topic -> (partition, offset -> kind)
    good: dict[str, int] = {}
    async with Producer(secure.bootstrap) as producer:
        for topic in topics:
            physical = secure.prefix + topic
            key = f"{tenant}:poison".encode()  # one key: one partition, in order
            offsets: dict[int, str] = {}
            partition = -1
            for kind, value in bad_records(topic, tenant).items():
                # no type/version headers: the consumer must judge the bytes themselves
                partition, offset = await producer.send_raw(physical, value, key=key)
                offsets[offset] = kind
            bad[topic] = (partition, offsets)
            valid = json.dumps(_fresh(_example(topic), tenant)).encode()
            _, good[topic] = await producer.send_raw(physical, valid, key=key)

    conn = await asyncpg.connect(secure.pg_dsn)
    try:
        for topic, service in CONSUMED:
            group = secure.prefix + service
            partition, offsets = bad[topic]

            async def rows(t: str = topic, g: str = group, p: int = partition) -> list[Any]:
                found: list[Any] = await conn.fetch(
                    "SELECT original_offset, status, error_category, error_message"
                    " FROM dlq.dlq_events WHERE original_topic = $1 AND consumer_group = $2"
                    " AND original_partition = $3",
                    secure.prefix + t,
                    g,
                    p,
                )
                return found

            async def done(o: dict[int, str] = offsets, r: Any = rows) -> bool:
                return set(o) <= {x["original_offset"] for x in await r()}

            try:
                await eventually(done, timeout_s=120, what=f"{topic} bad records parked")
            except TimeoutError:
                stored = [dict(x) for x in await rows()]
                pytest.fail(f"{topic} ({service}): sent {offsets} to {partition}, DLQ: {stored}")
            mine = [
                r
                for r in await rows()
                if r["original_offset"] in offsets or r["original_offset"] == good[topic]
            ]
            by_kind = {offsets.get(r["original_offset"], "good"): r for r in mine}
            assert set(by_kind) == set(offsets.values()), (topic, service, sorted(by_kind))
            for kind, row in by_kind.items():
                assert row["status"] == "parked", (topic, service, kind, dict(row))
                assert row["error_category"] == "invalid", (topic, service, kind, dict(row))
                assert row["error_message"], (topic, service, kind)

            async def past(g: str = group, t: str = topic, p: int = partition) -> bool:
                position = await committed(secure.bootstrap, g, secure.prefix + t, p)
                return position > good[t]

            await eventually(past, timeout_s=120, what=f"{service} consumed past the good {topic}")
    finally:
        await conn.close()
