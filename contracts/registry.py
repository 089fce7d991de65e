"""The topic registry: every topic on the bus, and parsing a message against it.

Producers and consumers follow DESIGN §2. Other teams publish posts and queries and consume
our answers, digests, indexed posts and trends (``external``). Every service emits
``lifecycle.v1`` and dead-letters what it cannot process; the DLQ service re-publishes
retries to the topics our services consume, so it is a producer of those. It does not
dead-letter its own input (it parks it), or a bad dead letter would loop forever.
"""

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from contracts.envelope import Envelope
from contracts.errors import (
    InvalidEnvelope,
    InvalidPayload,
    UnknownEventType,
    UnknownSchemaVersion,
)
from contracts.spec import DAY_MS, EXTERNAL, SERVICES, TopicSpec
from contracts.v1 import (
    AnswerQuery,
    DeadLetter,
    DigestCompleted,
    DocumentsRetrieved,
    GenerateDigest,
    LifecycleEvent,
    PostIndexed,
    PostIngested,
    PostsDeleted,
    QueryAnswered,
    ReportTrends,
    RetrieveDocuments,
    TrendDetected,
    TrendsReported,
)

__all__ = ["REGISTRY", "TopicSpec", "get_spec", "parse_envelope", "payload_model"]

_WEEK: Final = 7 * DAY_MS
_WORKERS: Final = ("router", "retrieval", "digest", "trend", "memory")

# fmt: off
_SPECS: Final = (
    TopicSpec(
        event_type="posts.ingested", version=1, kind="event", model=PostIngested,
        key="tenant_id:channel_id", partitions=6, retention_ms=_WEEK,
        producers=(EXTERNAL, "dlq"), consumers=("retrieval",),
    ),
    TopicSpec(
        event_type="posts.deleted", version=1, kind="event", model=PostsDeleted,
        key="tenant_id:channel_id", partitions=6, retention_ms=_WEEK,
        producers=(EXTERNAL, "dlq"), consumers=("retrieval",),
    ),
    TopicSpec(
        event_type="posts.indexed", version=1, kind="event", model=PostIndexed,
        key="tenant_id:channel_id", partitions=6, retention_ms=_WEEK,
        producers=("retrieval", "dlq"), consumers=("trend", EXTERNAL),
    ),
    TopicSpec(
        event_type="queries.requested", version=1, kind="command", model=AnswerQuery,
        key="tenant_id:user_id", partitions=3, retention_ms=_WEEK,
        producers=(EXTERNAL, "dlq"), consumers=("router",),
    ),
    TopicSpec(
        event_type="queries.answered", version=1, kind="event", model=QueryAnswered,
        key="tenant_id:user_id", partitions=3, retention_ms=_WEEK,
        producers=("router", "digest", "trend", "dlq"), consumers=("router", EXTERNAL),
    ),
    TopicSpec(
        event_type="retrieval.requested", version=1, kind="command", model=RetrieveDocuments,
        key="tenant_id:request_id", partitions=3, retention_ms=_WEEK,
        producers=("router", "digest", "trend", "dlq"), consumers=("retrieval",),
    ),
    TopicSpec(
        event_type="retrieval.completed", version=1, kind="event", model=DocumentsRetrieved,
        key="tenant_id:request_id", partitions=3, retention_ms=_WEEK,
        producers=("retrieval", "dlq"), consumers=("digest",),
    ),
    TopicSpec(
        event_type="digest.requested", version=1, kind="command", model=GenerateDigest,
        key="tenant_id:run_id", partitions=3, retention_ms=_WEEK,
        producers=("router", "dlq", "digest"), consumers=("digest",),
    ),
    TopicSpec(
        event_type="digest.completed", version=1, kind="event", model=DigestCompleted,
        key="tenant_id:run_id", partitions=3, retention_ms=_WEEK,
        producers=("digest", "dlq"), consumers=("router", EXTERNAL),
    ),
    TopicSpec(
        event_type="trend.requested", version=1, kind="command", model=ReportTrends,
        key="tenant_id:request_id", partitions=3, retention_ms=_WEEK,
        producers=("router", "dlq"), consumers=("trend",),
    ),
    TopicSpec(
        event_type="trend.detected", version=1, kind="event", model=TrendDetected,
        key="tenant_id:trend_id", partitions=3, retention_ms=_WEEK,
        producers=("trend",), consumers=(EXTERNAL,),
    ),
    TopicSpec(
        event_type="trend.reported", version=1, kind="event", model=TrendsReported,
        key="tenant_id:request_id", partitions=3, retention_ms=_WEEK,
        producers=("trend",), consumers=(EXTERNAL,),
    ),
    TopicSpec(
        event_type="lifecycle", version=1, kind="event", model=LifecycleEvent,
        key="tenant_id:run_id", partitions=3, retention_ms=_WEEK,
        producers=SERVICES, consumers=("memory", "dlq"),
    ),
    TopicSpec(
        event_type="deadletter", version=1, kind="event", model=DeadLetter,
        key="original_topic:partition", partitions=3, retention_ms=30 * DAY_MS,
        producers=_WORKERS, consumers=("dlq",),
        # A dead letter holds a whole original record in base64 (4/3 of its size).
        max_message_bytes=2 * 1_048_576,
    ),
)
# fmt: on

REGISTRY: Final[Mapping[str, TopicSpec]] = MappingProxyType({s.name: s for s in _SPECS})
"""Topic name (``posts.ingested.v1``) → its spec."""

_MAX_BYTES: Final = max(s.max_message_bytes for s in _SPECS)


def get_spec(event_type: str, version: int) -> TopicSpec:
    """The spec of ``<event_type>.v<version>``.

    Raises ``UnknownEventType`` if no version of ``event_type`` exists,
    ``UnknownSchemaVersion`` if others do.
    """
    spec = REGISTRY.get(f"{event_type}.v{version}")
    if spec is not None:
        return spec
    known = sorted(s.version for s in REGISTRY.values() if s.event_type == event_type)
    if known:
        raise UnknownSchemaVersion(f"{event_type!r} has versions {known}, not {version!r}")
    raise UnknownEventType(f"unknown event type {event_type!r}")


def payload_model(event_type: str, version: int) -> type[BaseModel]:
    """The payload class of ``<event_type>.v<version>``; raises like ``get_spec``."""
    return get_spec(event_type, version).model


def parse_envelope(raw: bytes | Mapping[str, Any], *, topic: str | None = None) -> Envelope[Any]:
    """Validate one message: its envelope, then its payload with the registered model.

    ``raw`` is the Kafka message value or an already decoded JSON object. With ``topic``,
    the envelope must belong on that topic. The result is an ``Envelope[<payload model>]``.
    Raises ``InvalidEnvelope`` (not JSON, nested too deeply, not an object, oversized, bad
    envelope fields, wrong topic), ``UnknownEventType``, ``UnknownSchemaVersion`` or
    ``InvalidPayload``; all are ``ContractError``.
    """
    data = _decode(raw)
    event_type, version = data.get("event_type"), data.get("schema_version")
    if not isinstance(event_type, str) or type(version) is not int:
        raise InvalidEnvelope("envelope needs a string event_type and an integer schema_version")
    spec = get_spec(event_type, version)
    if topic is not None and spec.name != topic:
        raise InvalidEnvelope(f"a {spec.name} envelope does not belong on topic {topic!r}")
    if isinstance(raw, bytes) and len(raw) > spec.max_message_bytes:
        raise InvalidEnvelope(f"{len(raw)} bytes exceed {spec.name}'s {spec.max_message_bytes}")
    try:
        return spec.envelope_model.model_validate(data)
    except ValidationError as exc:
        on_payload = all(err["loc"][:1] == ("payload",) for err in exc.errors())
        error = InvalidPayload if on_payload else InvalidEnvelope
        raise error(f"invalid {spec.name} message: {exc}") from exc


def _decode(raw: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(raw, bytes):
        if len(raw) > _MAX_BYTES:
            raise InvalidEnvelope(f"{len(raw)} bytes exceed the largest message size {_MAX_BYTES}")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidEnvelope(f"message is not UTF-8 JSON: {exc}") from exc
        except RecursionError as exc:  # JSON nested deeper than the decoder follows
            raise InvalidEnvelope(f"message JSON is nested too deeply: {exc}") from exc
    else:
        data = raw
    if not isinstance(data, Mapping):
        raise InvalidEnvelope(f"message is a JSON {type(data).__name__}, not an object")
    return data
