"""UUIDv7 event ids (RFC 9562 §5.7), with no dependency beyond the standard library.

Layout: 48 bits Unix milliseconds | version 7 | 12 bits ``rand_a`` | variant 0b10 | 62 bits
``rand_b``. ``new_event_id`` fills ``rand_a`` with the sub-millisecond fraction of the clock
(RFC 9562 §6.2, method 3) and never repeats or goes back within a process, so ids sort in
creation order. ``derived_event_id`` is deterministic: same inputs, same id.
"""

import hashlib
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_lock = threading.Lock()
_last_stamp = 0  # (unix_ms << 12) | sub-ms fraction of the last id issued by this process


def _uuid7(unix_ms: int, rand_a: int, rand_b: int) -> str:
    value = (unix_ms & (1 << 48) - 1) << 80 | 0x7 << 76 | (rand_a & 0xFFF) << 64
    value |= 0b10 << 62 | rand_b & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def new_event_id() -> str:
    """A fresh UUIDv7 string; strictly increasing across calls in one process."""
    global _last_stamp
    ns = time.time_ns()
    stamp = (ns // 1_000_000) << 12 | (ns % 1_000_000) * 4096 // 1_000_000
    with _lock:
        # A clock step back or two calls in one 244 ns tick: borrow the next value instead.
        stamp = max(stamp, _last_stamp + 1)
        _last_stamp = stamp
    return _uuid7(stamp >> 12, stamp, int.from_bytes(os.urandom(8), "big"))


def derived_event_id(ts: datetime, *parts: str) -> str:
    """A UUIDv7 whose time bits come from ``ts`` and whose other bits hash ``parts``.

    Used when a redelivered message must re-emit an event with the *same* id, so stores
    dedupe it. Raises ``ValueError`` for a naive or pre-1970 ``ts`` or when no part is given.
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("derived_event_id needs a timezone-aware datetime")
    if not parts:
        raise ValueError("derived_event_id needs at least one part")
    digest = hashlib.sha256()
    for part in parts:  # length-prefixed, so ("ab", "c") and ("a", "bc") differ
        data = part.encode()
        digest.update(len(data).to_bytes(8, "big") + data)
    bits = int.from_bytes(digest.digest()[:10], "big")
    unix_ms = (ts - _EPOCH) // timedelta(milliseconds=1)
    if unix_ms < 0:
        raise ValueError("derived_event_id needs a datetime after 1970-01-01")
    return _uuid7(unix_ms, bits >> 62, bits)
