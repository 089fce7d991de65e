"""Opaque keyset cursors: ``(occurred_at, event_id)`` of the last row a page returned.

A cursor is base64url text of ``<order>:<epoch microseconds>:<event id>``. The order is part
of it so a cursor of the newest-first listing is refused by the oldest-first timeline instead
of silently skipping rows. It carries no tenant: it is only a position, and every read is
filtered by the tenant of the request.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from services.memory.domain.episode import Cursor

Order = Literal["newest", "oldest"]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TAGS: Final[dict[str, str]] = {"newest": "n1", "oldest": "o1"}
_SHAPE: Final = re.compile(r"^(n1|o1):(-?\d{1,18}):([0-9a-f-]{36})$")
MAX_CURSOR_CHARS: Final = 128


class BadCursor(ValueError):
    """The text is not a cursor this API issued for this listing."""


def encode(cursor: Cursor, order: Order) -> str:
    """The opaque text of ``cursor`` for a listing in ``order``."""
    micros = (cursor.occurred_at - _EPOCH) // timedelta(microseconds=1)
    raw = f"{_TAGS[order]}:{micros}:{cursor.event_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str, order: Order) -> Cursor:
    """The cursor ``text`` stands for; raises :class:`BadCursor` with the reason."""
    if not text or len(text) > MAX_CURSOR_CHARS:
        raise BadCursor("cursor is empty or too long; pass next_cursor back unchanged")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise BadCursor("cursor is not valid base64url; pass next_cursor back unchanged") from None
    match = _SHAPE.match(raw)
    if match is None:
        raise BadCursor("cursor is malformed; pass next_cursor back unchanged")
    tag, micros, event_id = match.groups()
    if tag != _TAGS[order]:
        raise BadCursor("cursor belongs to another listing (newest-first vs oldest-first)")
    try:
        event_id = str(uuid.UUID(event_id))
        when = _EPOCH + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError):
        raise BadCursor("cursor holds an impossible position") from None
    return Cursor(occurred_at=when, event_id=event_id)
