"""Writing large Telegram exports for tests, one message at a time (never held in memory)."""

from __future__ import annotations

import json
from pathlib import Path

CHANNEL_ID = 1999999999
"""The generated channel's export id; its posts have ``channel_id`` ``-1001999999999``."""


def write_channel_export(path: Path, messages: int, *, service_every: int = 10) -> int:
    """A single-channel ``result.json`` with ``messages`` messages, every ``service_every``-th
    a service message; returns how many are ordinary messages (the posts it should yield)."""
    posts = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"name": "Большой канал", "type": "public_channel", ')
        out.write(f'"id": {CHANNEL_ID}, "messages": [')
        for i in range(1, messages + 1):
            unix = str(1733302828 + i)
            message: dict[str, object]
            if i % service_every == 0:
                message = {"id": i, "type": "service", "date_unixtime": unix, "text": ""}
                message["action"] = "pin_message"
            else:
                posts += 1
                message = {
                    "id": i,
                    "type": "message",
                    "date": "2024-12-04T12:00:28",
                    "date_unixtime": unix,
                    "from": "Большой канал",
                    "from_id": f"channel{CHANNEL_ID}",
                    "text": [
                        f"Сообщение {i} о ",
                        {"type": "bold", "text": "важном"},
                        " ",
                        {"type": "text_link", "text": "тут", "href": f"https://example.ru/{i}"},
                    ],
                    "reactions": [{"type": "emoji", "count": 3, "emoji": "👍"}],
                }
            out.write(("," if i > 1 else "") + json.dumps(message, ensure_ascii=False))
        out.write("]}")
    return posts
