"""Reading a success report out of a raw ``lifecycle.v1`` record, cheaply."""

from __future__ import annotations

import json
import uuid
from typing import Final

_MARKER: Final = b'"dlq_entry_id"'


def resolved_entry_id(value: bytes | None) -> str | None:
    """The entry a lifecycle record reports as processed, or None.

    A report is a ``run_completed`` whose ``payload.details.dlq_entry_id`` is a UUID (the
    runtime emits one when a retry succeeds). Records without the marker are rejected
    without parsing, so the stream of ordinary lifecycle events costs a substring search;
    anything unreadable is ignored here (the memory service owns ``lifecycle.v1`` and
    dead-letters what it cannot read). Never raises.
    """
    if not value or _MARKER not in value:
        return None
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        return None
    payload = doc.get("payload") if isinstance(doc, dict) else None
    if not isinstance(payload, dict) or payload.get("kind") != "run_completed":
        return None
    details = payload.get("details")
    entry = details.get("dlq_entry_id") if isinstance(details, dict) else None
    if not isinstance(entry, str):
        return None
    try:
        return str(uuid.UUID(entry))
    except ValueError:
        return None
