"""Constrained field types shared by the envelope and every payload.

Bounds live in the types, so they appear in the exported JSON Schemas and the compatibility
checker can compare them. Patterns are written in the common subset of ECMA-262 (JSON Schema)
and Rust regex (pydantic-core), so a model and its schema accept the same strings.
"""

from datetime import UTC, datetime
from typing import Annotated, Final, TypeVar

from pydantic import AfterValidator, AwareDatetime, Field, FiniteFloat, StringConstraints

# 2**53 - 1: the largest integer every JSON reader (JavaScript included) holds exactly.
MAX_SAFE_INT: Final = 9_007_199_254_740_991

UUID7_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_TENANT: Final = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_CHANNEL: Final = r"-?[A-Za-z0-9_]{1,64}"
_MESSAGE: Final = r"[1-9][0-9]{0,9}"
TENANT_PATTERN: Final = f"^{_TENANT}$"
CHANNEL_PATTERN: Final = f"^{_CHANNEL}$"
# The natural key of a post. Neither tenant nor channel may contain ':', so it splits uniquely.
POST_ID_PATTERN: Final = f"^{_TENANT}:{_CHANNEL}:{_MESSAGE}$"
SERVICE_PATTERN: Final = r"^[a-z][a-z0-9-]{0,31}$"
PRODUCER_PATTERN: Final = r"^[a-z][a-z0-9-]{0,31}@[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$"
EVENT_TYPE_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
TRACEPARENT_PATTERN: Final = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
# Standard padded base64 (RFC 4648 §4), nothing else.
BASE64_PATTERN: Final = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC; naive datetimes are rejected."""

EventId = Annotated[str, StringConstraints(pattern=UUID7_PATTERN)]
TenantId = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]
ChannelId = Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN)]
"""A channel username or a numeric chat id as a string (``-1001101170442``)."""
PostId = Annotated[str, StringConstraints(pattern=POST_ID_PATTERN)]
MessageId = Annotated[int, Field(ge=1, le=2_147_483_647)]
"""Telegram message ids are 32-bit and start at 1."""
Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
"""An opaque identifier (query, run, request, user, trend…): 1..128 characters, no whitespace."""
ServiceName = Annotated[str, StringConstraints(pattern=SERVICE_PATTERN)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
"""ISO 639-1, lower case."""
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
Millis = Annotated[int, Field(ge=0, le=86_400_000)]
"""A duration in milliseconds, at most one day."""
Score = FiniteFloat
UnitScore = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Term = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""A keyword, an entity name or a leg name."""
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]
PostText = Annotated[str, StringConstraints(max_length=65_536)]
QueryText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Quote = Annotated[str, StringConstraints(max_length=500)]
Base64 = Annotated[str, StringConstraints(pattern=BASE64_PATTERN)]

UNIQUE_ITEMS: Final = {"uniqueItems": True}

_T = TypeVar("_T")


def unique_items(values: list[_T]) -> list[_T]:
    """Reject repeated items; pair with ``json_schema_extra=UNIQUE_ITEMS`` on the field."""
    if len(set(values)) != len(values):
        raise ValueError("items must be unique")
    return values
