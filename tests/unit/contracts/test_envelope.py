"""Envelope fields, event ids, headers and ``parse_envelope`` errors."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import headers
from contracts.envelope import UNKNOWN_TENANT, Envelope, make_envelope
from contracts.errors import (
    InvalidEnvelope,
    InvalidPayload,
    UnknownEventType,
    UnknownSchemaVersion,
)
from contracts.examples import load_example
from contracts.ids import derived_event_id, new_event_id
from contracts.registry import parse_envelope
from contracts.v1 import LifecycleEvent, PostIngested

pytestmark = pytest.mark.unit

TS = datetime(2024, 12, 4, 8, 50, 11, 123456, tzinfo=UTC)


def _uuid7(value: str) -> uuid.UUID:
    parsed = uuid.UUID(value)
    assert str(parsed) == value  # canonical lower-case form
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    return parsed


def _unix_ms(value: str) -> int:
    return _uuid7(value).int >> 80


def _post(**changes: Any) -> PostIngested:
    data = load_example("posts.ingested.v1", "channel-post")["payload"] | changes
    return PostIngested.model_validate(data)


def _envelope(**changes: Any) -> dict[str, Any]:
    return load_example("posts.ingested.v1", "channel-post") | changes


def parse_envelope_model(data: dict[str, Any]) -> Envelope[PostIngested]:
    return Envelope[PostIngested].model_validate(data)


# -- event ids -----------------------------------------------------------------------------


def test_new_event_id_is_uuid7_with_current_time() -> None:
    before = datetime.now(UTC)
    value = new_event_id()
    after = datetime.now(UTC)
    stamp = datetime.fromtimestamp(_unix_ms(value) / 1000, UTC)
    assert before - timedelta(milliseconds=1) <= stamp <= after


def test_new_event_ids_are_unique_and_time_ordered() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [uuid.UUID(i).int for i in ids] == sorted(uuid.UUID(i).int for i in ids)


def test_derived_event_id_is_deterministic_uuid7() -> None:
    first = derived_event_id(TS, "run-5c1e", "run_started")
    assert first == derived_event_id(TS, "run-5c1e", "run_started")
    assert _unix_ms(first) == int(TS.timestamp() * 1000)
    assert first != derived_event_id(TS, "run-5c1e", "run_completed")
    assert first != derived_event_id(TS + timedelta(milliseconds=1), "run-5c1e", "run_started")
    assert derived_event_id(TS, "ab", "c") != derived_event_id(TS, "a", "bc")


def test_derived_event_id_uses_the_instant_not_the_offset() -> None:
    moscow = TS.astimezone(timezone(timedelta(hours=3)))
    assert derived_event_id(moscow, "x") == derived_event_id(TS, "x")


def test_derived_event_id_rejects_naive_time_and_no_parts() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        derived_event_id(datetime(2024, 12, 4), "x")
    with pytest.raises(ValueError, match="at least one part"):
        derived_event_id(TS)


# -- envelope fields ----------------------------------------------------------------------


def test_occurred_at_must_be_aware_and_is_normalised_to_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        parse_envelope_model(_envelope(occurred_at="2024-12-04T08:50:13"))
    envelope = parse_envelope_model(_envelope(occurred_at="2024-12-04T11:50:13+03:00"))
    assert envelope.occurred_at == datetime(2024, 12, 4, 8, 50, 13, tzinfo=UTC)
    assert envelope.occurred_at.utcoffset() == timedelta(0)


def test_payload_datetimes_must_be_aware() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        _post(date="2024-12-04T08:50:11")
    assert _post(date="2024-12-04T11:50:11+03:00").date == datetime(
        2024, 12, 4, 8, 50, 11, tzinfo=UTC
    )


@pytest.mark.parametrize("tenant", ["demo", "Acme.Media_2", "a", "0-x", "a" * 64, UNKNOWN_TENANT])
def test_valid_tenants(tenant: str) -> None:
    assert parse_envelope_model(_envelope(tenant_id=tenant)).tenant_id == tenant


@pytest.mark.parametrize("tenant", ["", "-demo", ".demo", "acme media", "a:b", "a" * 65, "демо"])
def test_invalid_tenants(tenant: str) -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        parse_envelope_model(_envelope(tenant_id=tenant))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", str(uuid.uuid4())),
        ("event_id", new_event_id().upper()),
        ("causation_id", "not-a-uuid"),
        ("producer", "router"),
        ("producer", "Router@1.0"),
        ("traceparent", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"),
        ("schema_version", 0),
        ("idempotency_key", "k" * 257),
        ("correlation_id", ""),
    ],
)
def test_invalid_envelope_fields(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        parse_envelope_model(_envelope(**{field: value}))


def test_envelope_is_closed_and_frozen_payload_is_open() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        parse_envelope_model(_envelope(partition_key="x"))
    data = _envelope()
    data["payload"] = data["payload"] | {"sentiment": "neutral"}  # from a newer producer
    envelope = parse_envelope_model(data)
    assert not hasattr(envelope.payload, "sentiment")
    with pytest.raises(ValidationError, match="frozen"):
        envelope.tenant_id = "other"  # type: ignore[misc]


# -- make_envelope ------------------------------------------------------------------------


def test_make_envelope_defaults() -> None:
    envelope = make_envelope(
        _post(),
        event_type="posts.ingested",
        schema_version=1,
        producer="tg-ingest@1.4.2",
        tenant_id="demo",
    )
    _uuid7(envelope.event_id)
    assert envelope.correlation_id == envelope.event_id == envelope.idempotency_key
    assert envelope.causation_id is None
    assert envelope.occurred_at.tzinfo is UTC
    assert envelope.topic == "posts.ingested.v1"
    assert isinstance(envelope.payload, PostIngested)


def test_make_envelope_follows_its_cause() -> None:
    cause = parse_envelope(json.dumps(load_example("queries.requested.v1", "question")).encode())
    effect = make_envelope(
        LifecycleEvent(run_id="r1", kind="run_started", service="router", domain="qa"),
        event_type="lifecycle",
        schema_version=1,
        producer="router@0.1.0",
        tenant_id=cause.tenant_id,
        causation=cause,
    )
    assert effect.correlation_id == cause.correlation_id
    assert effect.causation_id == cause.event_id
    assert effect.traceparent == cause.traceparent
    with pytest.raises(ValueError, match="correlation_id"):
        make_envelope(
            _post(),
            event_type="posts.ingested",
            schema_version=1,
            producer="router@0.1.0",
            tenant_id="demo",
            causation=cause,
            correlation_id="another",
        )


def test_make_envelope_rejects_naive_occurred_at() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_envelope(
            _post(),
            event_type="posts.ingested",
            schema_version=1,
            producer="router@0.1.0",
            tenant_id="demo",
            occurred_at=datetime(2024, 12, 4),
        )


# -- lifecycle details --------------------------------------------------------------------


def test_lifecycle_details_limited_to_4_kib() -> None:
    def event(details: dict[str, Any]) -> LifecycleEvent:
        return LifecycleEvent(
            run_id="r", kind="error", service="dlq", domain="dlq", details=details
        )

    assert event({"note": "x" * 4000}).details["note"] == "x" * 4000
    with pytest.raises(ValidationError, match="more than 4096"):
        event({"note": "x" * 4096})
    with pytest.raises(ValidationError, match="more than 4096"):
        event({"note": "я" * 2100})  # 4200 bytes in UTF-8, 2100 characters
    with pytest.raises(ValidationError):
        event({"when": datetime.now(UTC)})  # not a JSON value


# -- parse_envelope -----------------------------------------------------------------------


def test_parse_envelope_accepts_bytes_and_dicts() -> None:
    data = _envelope()
    from_bytes = parse_envelope(json.dumps(data).encode())
    assert from_bytes == parse_envelope(data)
    assert type(from_bytes.payload) is PostIngested


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (b"{not json", InvalidEnvelope, "not UTF-8 JSON"),
        (b"\xff\xfe", InvalidEnvelope, "not UTF-8 JSON"),
        (b"[1, 2]", InvalidEnvelope, "JSON list, not an object"),
        (b"{}", InvalidEnvelope, "event_type"),
        (b'{"event_type": "posts.ingested", "schema_version": "1"}', InvalidEnvelope, "integer"),
        (
            b'{"event_type": "posts.created", "schema_version": 1}',
            UnknownEventType,
            "posts.created",
        ),
        (b'{"event_type": "posts.ingested", "schema_version": 3}', UnknownSchemaVersion, "not 3"),
    ],
)
def test_parse_envelope_errors(raw: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_envelope(raw)


def test_parse_envelope_tells_payload_errors_from_envelope_errors() -> None:
    data = _envelope()
    data["payload"] = data["payload"] | {"message_id": 0}
    with pytest.raises(InvalidPayload, match="message_id"):
        parse_envelope(data)
    with pytest.raises(InvalidEnvelope) as caught:
        parse_envelope(_envelope(producer="nobody"))
    assert type(caught.value) is InvalidEnvelope


def test_parse_envelope_checks_the_topic_and_the_size() -> None:
    with pytest.raises(InvalidEnvelope, match="does not belong on topic"):
        parse_envelope(_envelope(), topic="posts.deleted.v1")
    data = _envelope()
    data["payload"] = data["payload"] | {"text": "x" * 65_536, "padding": "y" * 1_000_000}
    with pytest.raises(InvalidEnvelope, match="exceed"):
        parse_envelope(json.dumps(data).encode())


# -- headers ------------------------------------------------------------------------------


def test_header_names_are_unique_lowercase_and_not_faststream_s() -> None:
    assert len(set(headers.ALL)) == len(headers.ALL)
    for name in headers.ALL:
        assert name == name.lower()
        assert "_" not in name
        assert not name.startswith("x-")
    assert {"correlation_id", "reply_to"}.isdisjoint(headers.ALL)


def test_envelope_headers() -> None:
    envelope = parse_envelope(load_example("queries.requested.v1", "question"))
    assert headers.envelope_headers(envelope) == {
        "event-type": "queries.requested",
        "schema-version": "1",
        "event-id": envelope.event_id,
        "tenant-id": "demo",
        "correlation-id": "q-7f3c2a",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }
