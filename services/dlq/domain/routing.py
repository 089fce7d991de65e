"""Where a retry goes and what it carries: the original topic, key and headers, addressed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from contracts import headers as H
from contracts.registry import REGISTRY

SERVICE: Final = "dlq"
DEADLETTER_TOPIC: Final = "deadletter.v1"
DELIVERY_ID: Final = H.DLQ_DELIVERY_ID
"""Set on every re-published message: the lease token of that publication (see headers)."""

CONTROL_HEADERS: Final = frozenset(
    {
        H.ATTEMPT,
        H.TARGET_CONSUMER_GROUP,
        H.DLQ_ENTRY_ID,
        DELIVERY_ID,
        H.DLQ_ORIGINAL_TOPIC,
        H.DLQ_ORIGINAL_PARTITION,
        H.DLQ_ORIGINAL_OFFSET,
        H.DLQ_ERROR_CATEGORY,
        H.DLQ_ERROR_CLASS,
        H.DLQ_ERROR_MESSAGE,
        H.DLQ_SERVICE,
        H.DLQ_CONSUMER_GROUP,
    }
)
"""Headers the DLQ owns: dropped from a stored original, set afresh on each retry."""


def logical_topic(physical: str, prefix: str) -> str | None:
    """The registered topic behind a physical name under ``prefix``, or None."""
    if not physical.startswith(prefix):
        return None
    name = physical[len(prefix) :]
    return name if name in REGISTRY else None


def unroutable_reason(physical: str, prefix: str) -> str | None:
    """Why the DLQ must not re-publish to ``physical``, or None when it may.

    Only topics of this deployment (``prefix``) whose registry entry lists ``dlq`` as a
    producer qualify: a dead letter names its topic itself, and the DLQ must not become a
    way to write anywhere. ``deadletter.v1`` never qualifies, or a bad dead letter would loop.
    """
    name = logical_topic(physical, prefix)
    if name is None:
        return f"unroutable: {physical!r} is not a registered topic of this deployment"
    if name == DEADLETTER_TOPIC:
        return "unroutable: a dead letter of a dead letter is parked, never retried"
    if SERVICE not in REGISTRY[name].producers:
        return f"unroutable: the registry does not let the DLQ publish to {name}"
    return None


def metric_topic(physical: str, prefix: str) -> str:
    """A low-cardinality label for a physical topic: its registered name, else ``other``."""
    return logical_topic(physical, prefix) or "other"


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The original's headers without the DLQ's own, as kept in the entry."""
    return {k: v for k, v in headers.items() if k not in CONTROL_HEADERS}


def retry_headers(
    original: Mapping[str, str], *, delivery: int, group: str, entry_id: str, token: str
) -> dict[str, str]:
    """The headers of a retry: the original's plus the delivery attempt (which the runtime
    reads), the consumer group that alone may process it, the entry id (so a success is
    reported against it) and the delivery id (so a failure is matched to this publication)."""
    out = stored_headers(original)
    out[H.ATTEMPT] = str(delivery)
    out[H.TARGET_CONSUMER_GROUP] = group
    out[H.DLQ_ENTRY_ID] = entry_id
    out[DELIVERY_ID] = token
    return out
