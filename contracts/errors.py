"""Errors raised while reading messages against the contracts.

Every error here is permanent for the bytes that caused it: retrying the same message cannot
succeed, so a consumer dead-letters it at once with ``error_category="invalid"``.
"""


class ContractError(ValueError):
    """Base of every contract error; a message that raises it will never become valid."""


class InvalidEnvelope(ContractError):
    """The bytes are not JSON, not an object, or not a well-formed envelope."""


class InvalidPayload(InvalidEnvelope):
    """The envelope is well formed but its payload fails the topic's payload model."""


class UnknownEventType(ContractError):
    """No topic in the registry has this event type."""


class UnknownSchemaVersion(ContractError):
    """The event type is known but not at this schema version."""
