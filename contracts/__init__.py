"""Versioned message contracts of the bus: envelope, payload models, topic registry.

A leaf package: it depends on pydantic and the standard library only, and imports nothing
from services. Payload models live in ``contracts.v1``; header names in
``contracts.headers``; JSON Schemas in ``contracts.schemas``; the compatibility check in
``contracts.compat``.
"""

from contracts.envelope import (
    UNKNOWN_TENANT,
    Envelope,
    derived_event_id,
    envelope_model,
    make_envelope,
    new_event_id,
)
from contracts.errors import (
    ContractError,
    InvalidEnvelope,
    InvalidPayload,
    UnknownEventType,
    UnknownSchemaVersion,
)
from contracts.registry import REGISTRY, get_spec, parse_envelope, payload_model
from contracts.spec import EXTERNAL, SERVICES, TopicSpec

__all__ = [
    "EXTERNAL",
    "REGISTRY",
    "SERVICES",
    "UNKNOWN_TENANT",
    "ContractError",
    "Envelope",
    "InvalidEnvelope",
    "InvalidPayload",
    "TopicSpec",
    "UnknownEventType",
    "UnknownSchemaVersion",
    "derived_event_id",
    "envelope_model",
    "get_spec",
    "make_envelope",
    "new_event_id",
    "parse_envelope",
    "payload_model",
]
