"""``deadletter.v1``: a message a consumer could not process, with its original bytes."""

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from contracts.base import ContractModel
from contracts.fields import Base64, ServiceName, UtcDatetime

# Base64 of Kafka's default max.message.bytes (1 MiB): any message a broker accepted fits.
MAX_PAYLOAD_B64: Final = 1_398_104
MAX_PAYLOAD: Final = 1_048_576
"""Originals up to this size travel whole; a larger one keeps its first ``TRUNCATED_PREFIX``
bytes, its full size and its SHA-256 (it is poison anyway: too big to process)."""
TRUNCATED_PREFIX: Final = 65_536
MAX_ERROR_MESSAGE: Final = 4096

ErrorCategory = Literal["invalid", "retryable"]
TopicName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,249}$")]
HeaderName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
HeaderValue = Annotated[str, StringConstraints(max_length=8192)]


class DeadLetter(ContractModel):
    """The original record of a failed message, byte for byte, and why it failed (event).

    The original may not even be an envelope, so the dead letter's envelope carries the
    original's tenant when it could be read, else ``"unknown"``. ``invalid`` messages are
    never retried; ``retryable`` ones are re-published by the DLQ service to
    ``original_topic``, addressed to ``consumer_group`` only. ``payload_size`` is the decoded
    length of ``payload_b64`` (the model checks it). Header values that were not UTF-8 are
    decoded with backslash escapes.
    """

    original_topic: TopicName
    partition: int = Field(ge=0, le=2_147_483_647)
    offset: int = Field(ge=0, le=9_223_372_036_854_775_807)
    key_b64: Annotated[Base64, StringConstraints(max_length=65_536)] | None = None
    headers: Annotated[dict[HeaderName, HeaderValue], Field(max_length=100)] = Field(
        default_factory=dict
    )
    payload_b64: Annotated[Base64, StringConstraints(max_length=MAX_PAYLOAD_B64)]
    payload_size: int = Field(ge=0, le=MAX_PAYLOAD)
    """Length of the bytes in ``payload_b64``."""
    payload_truncated: bool = False
    """True when the original was over 1 MiB and only its first 64 KiB are kept."""
    original_size: int | None = Field(default=None, ge=0)
    """Size of the original value when it was truncated."""
    payload_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    """SHA-256 (hex) of the whole original value when it was truncated."""
    error_category: ErrorCategory
    error_class: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Qualified name of the exception, e.g. ``contracts.errors.InvalidPayload``."""
    error_message: Annotated[str, StringConstraints(max_length=MAX_ERROR_MESSAGE)]
    service: ServiceName
    consumer_group: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    attempt: int = Field(ge=1, le=1000)
    """Delivery attempts so far, the failing one included."""
    failed_at: UtcDatetime

    @model_validator(mode="after")
    def _size_matches(self) -> Self:
        if len(self.original_payload()) != self.payload_size:
            raise ValueError("payload_size differs from the decoded length of payload_b64")
        return self

    def original_payload(self) -> bytes:
        """The original message value."""
        return base64.b64decode(self.payload_b64, validate=True)

    def original_key(self) -> bytes | None:
        """The original message key, if it had one."""
        return None if self.key_b64 is None else base64.b64decode(self.key_b64, validate=True)

    @classmethod
    def from_failure(
        cls,
        *,
        original_topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, bytes],
        error: BaseException,
        error_category: ErrorCategory,
        service: str,
        consumer_group: str,
        attempt: int,
        failed_at: datetime,
    ) -> Self:
        """Build a dead letter from a raw Kafka record and the exception it raised.

        The error message is cut to 4096 characters. Raises ``pydantic.ValidationError`` if
        a field is out of bounds. An original over 1 MiB is truncated (see ``MAX_PAYLOAD``).
        """
        kind = type(error)
        truncated = len(value) > MAX_PAYLOAD
        kept = value[:TRUNCATED_PREFIX] if truncated else value
        return cls(
            original_topic=original_topic,
            partition=partition,
            offset=offset,
            key_b64=None if key is None else base64.b64encode(key).decode("ascii"),
            headers={k: v.decode("utf-8", "backslashreplace") for k, v in headers.items()},
            payload_b64=base64.b64encode(kept).decode("ascii"),
            payload_size=len(kept),
            payload_truncated=truncated,
            original_size=len(value) if truncated else None,
            payload_sha256=hashlib.sha256(value).hexdigest() if truncated else None,
            error_category=error_category,
            error_class=f"{kind.__module__}.{kind.__qualname__}",
            error_message=str(error)[:MAX_ERROR_MESSAGE],
            service=service,
            consumer_group=consumer_group,
            attempt=attempt,
            failed_at=failed_at,
        )
