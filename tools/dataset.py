"""Reading the shipped sample of real Telegram posts (``shared/data/tg-ru-news-channels``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from contracts.v1.posts import PostIngested

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """``$TGI_DATA_DIR`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("TGI_DATA_DIR", REPO.parent / "shared" / "data"))


def channel_posts(folder: Path | None = None) -> Iterator[PostIngested]:
    """Every post of every channel file, as ``PostIngested`` payloads, file by file."""
    root = folder or data_dir() / "tg-ru-news-channels" / "raw"
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root} (set TGI_DATA_DIR)")
    for path in sorted(root.glob("*_messages.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            yield to_post(item)


def to_post(item: dict[str, object]) -> PostIngested:
    """One item ``{message_id, sender_id, text, date, channel, category}`` as a payload."""
    sender = str(item["sender_id"]).removeprefix("-100").removeprefix("-")
    message_id = int(str(item["message_id"]))
    return PostIngested(
        channel_id=sender,
        channel_title=str(item.get("channel") or sender),
        chat_kind="channel",
        message_id=message_id,
        date=datetime.fromisoformat(str(item["date"])),
        text=str(item.get("text") or ""),
        permalink=f"https://t.me/c/{sender}/{message_id}",
        source="dataset",
    )
