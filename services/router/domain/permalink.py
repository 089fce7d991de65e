"""``t.me`` links to a post, for answers whose retrieved document carries none."""

from __future__ import annotations

import re
from typing import Final

_CHANNEL_SHIFT: Final = 1_000_000_000_000
_USERNAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


def permalink(channel_id: str, message_id: int, given: str | None = None) -> str:
    """The post's link: ``given`` when the document had one; ``t.me/<username>/<id>`` for a
    public username; ``t.me/c/<id>/<msg>`` for a marked ``-100…`` channel or supergroup id;
    otherwise ``t.me/c/<abs id>/<msg>``, the private-link form (basic groups have no links,
    so that one only opens for members of a migrated chat)."""
    if given:
        return given
    if _USERNAME.match(channel_id):
        return f"https://t.me/{channel_id}/{message_id}"
    try:
        value = int(channel_id)
    except ValueError:
        return f"https://t.me/{channel_id.lstrip('-')}/{message_id}"
    if value <= -_CHANNEL_SHIFT:
        return f"https://t.me/c/{-value - _CHANNEL_SHIFT}/{message_id}"
    return f"https://t.me/c/{abs(value)}/{message_id}"
