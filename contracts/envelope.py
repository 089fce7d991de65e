"""The envelope around every Kafka message, and the helpers that build one."""

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.fields import (
    EVENT_TYPE_PATTERN,
    PRODUCER_PATTERN,
    TRACEPARENT_PATTERN,
    EventId,
    TenantId,
    UtcDatetime,
)
from contracts.ids import derived_event_id, new_event_id

__all__ = [
    "UNKNOWN_TENANT",
    "Envelope",
    "PayloadT",
    "derived_event_id",
    "envelope_model",
    "make_envelope",
    "new_event_id",
]

UNKNOWN_TENANT: Final = "unknown"
"""Tenant of a dead letter whose original bytes did not say whose they were."""

PayloadT = TypeVar("PayloadT", bound=BaseModel)

EventType = Annotated[str, StringConstraints(max_length=128, pattern=EVENT_TYPE_PATTERN)]
Producer = Annotated[str, StringConstraints(pattern=PRODUCER_PATTERN)]
TraceParent = Annotated[str, StringConstraints(pattern=TRACEPARENT_PATTERN)]
CorrelationId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Envelope(BaseModel, Generic[PayloadT]):
    """Metadata common to every message, around one typed payload.

    Guarantees once validated: ``event_id`` is a lower-case UUIDv7; ``occurred_at`` is aware
    and in UTC; ``producer`` is ``service@version``; ``tenant_id`` matches
    ``^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$``; ``traceparent``, when set, is W3C version 00.
    ``Envelope[PostIngested]`` also validates the payload. It does not check that
    ``event_type``/``schema_version`` name the payload's topic: ``registry.parse_envelope``
    does, and each exported schema pins both with ``const``.

    The envelope is closed (``extra="forbid"``): it is shared by every topic, so it does not
    evolve in place. Payloads are open; see ``contracts.base.ContractModel``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    event_id: EventId
    """UUIDv7; unique per event. Consumers dedupe on it."""
    event_type: EventType
    """Logical topic name without version, e.g. ``posts.ingested``."""
    schema_version: int = Field(ge=1, le=999)
    """Version of the payload model; the topic is ``<event_type>.v<schema_version>``."""
    occurred_at: UtcDatetime
    """When the fact happened (or the command was issued), in UTC."""
    producer: Producer
    """``service@version`` of the writer, e.g. ``retrieval@0.1.0``."""
    tenant_id: TenantId
    """Whose data this is; taken from the caller's credential, never from a request body."""
    correlation_id: CorrelationId
    """Shared by every message of one conversation; a reply carries its request's id."""
    causation_id: EventId | None = None
    """``event_id`` of the message that caused this one, if any."""
    traceparent: TraceParent | None = None
    """W3C trace context, ``00-<trace-id>-<span-id>-<flags>``."""
    idempotency_key: IdempotencyKey
    """Key a consumer may use to make its side effect happen once."""
    payload: PayloadT

    @property
    def topic(self) -> str:
        """The Kafka topic this envelope belongs on, ``<event_type>.v<schema_version>``."""
        return f"{self.event_type}.v{self.schema_version}"


_ENVELOPE_MODELS: dict[type[BaseModel], type[Envelope[Any]]] = {}


def envelope_model(model: type[PayloadT]) -> type[Envelope[PayloadT]]:
    """``Envelope[model]`` for a payload class only known at run time.

    Kept here for the life of the process: pydantic's own cache of parametrised generics
    holds its classes weakly, so without a strong reference every call could build the class
    again (schema, validators, docstrings read from source) — measured at a tenth of the
    retrieval service's CPU under load.
    """
    found = _ENVELOPE_MODELS.get(model)
    if found is None:
        found = _ENVELOPE_MODELS[model] = Envelope[model]  # type: ignore[valid-type]
    return cast(type[Envelope[PayloadT]], found)


def make_envelope(
    payload: PayloadT,
    *,
    event_type: str,
    schema_version: int,
    producer: str,
    tenant_id: str,
    correlation_id: str | None = None,
    causation: Envelope[Any] | None = None,
    idempotency_key: str | None = None,
    traceparent: str | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[PayloadT]:
    """Wrap ``payload`` in a validated envelope.

    Defaults: a new UUIDv7 ``event_id``; ``occurred_at`` now; with ``causation`` (the message
    being handled) its ``correlation_id`` and ``traceparent`` are carried over and
    ``causation_id`` is set to its ``event_id``; otherwise the correlation id is the new
    event id. ``idempotency_key`` defaults to the event id, so pass a natural key when a
    re-produced message must be recognised as the same. Raises ``ValueError`` when an explicit
    ``correlation_id`` contradicts ``causation``, and ``pydantic.ValidationError`` on any bad
    field (a naive ``occurred_at`` included).
    """
    new_id = event_id or new_event_id()
    if causation is not None:
        if correlation_id is not None and correlation_id != causation.correlation_id:
            raise ValueError("correlation_id differs from the causing envelope's correlation_id")
        correlation_id = causation.correlation_id
        traceparent = traceparent or causation.traceparent
    return envelope_model(type(payload))(
        event_id=new_id,
        event_type=event_type,
        schema_version=schema_version,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        tenant_id=tenant_id,
        correlation_id=correlation_id or new_id,
        causation_id=causation.event_id if causation is not None else None,
        traceparent=traceparent,
        idempotency_key=idempotency_key or new_id,
        payload=payload,
    )
