"""Kafka header names, and the headers every envelope travels with.

Names are lower case, hyphenated and unprefixed. They deliberately differ from FastStream's
own ``correlation_id`` and ``reply_to`` headers: FastStream acts on those (it auto-publishes a
handler's return value to ``reply_to``), and our request/reply must not trigger that.
Values are UTF-8 strings; numbers are written in decimal.
"""

from typing import Any, Final

from contracts.envelope import Envelope

EVENT_TYPE: Final = "event-type"
"""``Envelope.event_type``, so a consumer can route before parsing the body."""
SCHEMA_VERSION: Final = "schema-version"
"""``Envelope.schema_version`` in decimal."""
EVENT_ID: Final = "event-id"
"""``Envelope.event_id``, so a consumer can drop a duplicate before parsing."""
TENANT_ID: Final = "tenant-id"
CORRELATION_ID: Final = "correlation-id"
TRACEPARENT: Final = "traceparent"
"""W3C trace context; the name OpenTelemetry's Kafka propagation uses."""
ATTEMPT: Final = "attempt"
"""Delivery attempt of a message re-published by the DLQ service, 1-based."""
REPLY_TO: Final = "reply-to"
"""Topic the responder publishes its reply to (request/reply over Kafka)."""
TARGET_CONSUMER_GROUP: Final = "target-consumer-group"
"""Set on a DLQ retry: only this consumer group processes it; every other group skips it."""

DLQ_ORIGINAL_TOPIC: Final = "dlq-original-topic"
DLQ_ORIGINAL_PARTITION: Final = "dlq-original-partition"
DLQ_ORIGINAL_OFFSET: Final = "dlq-original-offset"
DLQ_ERROR_CATEGORY: Final = "dlq-error-category"
"""``invalid`` (never retried) or ``retryable``."""
DLQ_ERROR_CLASS: Final = "dlq-error-class"
DLQ_ERROR_MESSAGE: Final = "dlq-error-message"
"""May be shortened; ``DeadLetter.error_message`` holds up to 4096 characters."""
DLQ_SERVICE: Final = "dlq-service"
DLQ_CONSUMER_GROUP: Final = "dlq-consumer-group"
DLQ_DELIVERY_ID: Final = "dlq-delivery-id"
"""Set by the DLQ service on a re-published message: the lease token of that delivery, so a
failure is counted only when it is the delivery the entry is waiting for."""
DLQ_ENTRY_ID: Final = "dlq-entry-id"
"""Set by the DLQ service on a re-published message: the id of its ``dlq_events`` row. A
consumer that then processes the message reports it resolved (lifecycle ``run_completed``
with ``details.dlq_entry_id``); a new failure's dead letter carries it back in its headers."""

ALL: Final = (
    EVENT_TYPE,
    SCHEMA_VERSION,
    EVENT_ID,
    TENANT_ID,
    CORRELATION_ID,
    TRACEPARENT,
    ATTEMPT,
    REPLY_TO,
    TARGET_CONSUMER_GROUP,
    DLQ_ORIGINAL_TOPIC,
    DLQ_ORIGINAL_PARTITION,
    DLQ_ORIGINAL_OFFSET,
    DLQ_ERROR_CATEGORY,
    DLQ_ERROR_CLASS,
    DLQ_ERROR_MESSAGE,
    DLQ_SERVICE,
    DLQ_CONSUMER_GROUP,
    DLQ_ENTRY_ID,
    DLQ_DELIVERY_ID,
)


def envelope_headers(envelope: Envelope[Any]) -> dict[str, str]:
    """The headers a producer sets from an envelope: type, version, id, tenant, correlation,
    and ``traceparent`` when the envelope has one."""
    headers = {
        EVENT_TYPE: envelope.event_type,
        SCHEMA_VERSION: str(envelope.schema_version),
        EVENT_ID: envelope.event_id,
        TENANT_ID: envelope.tenant_id,
        CORRELATION_ID: envelope.correlation_id,
    }
    if envelope.traceparent is not None:
        headers[TRACEPARENT] = envelope.traceparent
    return headers
