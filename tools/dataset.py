"""Reading the shipped sample of real Telegram posts (``shared/data/tg-ru-news-channels``).

Each file ``raw/<id>_messages.json`` is one JSON list of
``{message_id, sender_id, text, date, channel, category}``; files are streamed item by item.
``sender_id`` is already the Bot API chat id (``-1001000724666``), which is the ``channel_id``
a Telegram export of the same channel gets (see ``tools.telegram_export``).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Final

import ijson  # type: ignore[import-untyped]  # no stubs
from pydantic import ValidationError

from contracts.v1.posts import PostIngested
from tools.telegram_export import (
    OnSkip,
    UnreadableFile,
    display_name,
    json_error,
    marked_chat_id,
    open_json,
    permalink,
)

REPO = Path(__file__).resolve().parent.parent
FILE_PATTERN: Final = "*_messages.json"


class InvalidItem(ValueError):
    """A dataset item cannot become a post; the message is a short reason (``missing date``)."""


def data_dir() -> Path:
    """``$TGI_DATA_DIR`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("TGI_DATA_DIR", REPO.parent / "shared" / "data"))


def dataset_files(folder: Path) -> list[Path]:
    """The channel files in ``folder`` (the dataset's ``raw/``), sorted by name."""
    return sorted(folder.glob(FILE_PATTERN))


def channel_posts(
    folder: Path | None = None, on_skip: OnSkip | None = None
) -> Iterator[PostIngested]:
    """Every post of every channel file, as ``PostIngested`` payloads, file by file.

    An invalid item raises ``ValueError`` unless ``on_skip`` is given, which is then told
    ``(reason, where)`` instead. Raises ``FileNotFoundError`` when the folder is missing.
    """
    root = folder or data_dir() / "tg-ru-news-channels" / "raw"
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root} (set TGI_DATA_DIR)")
    for path in dataset_files(root):
        yield from read_dataset(path, on_skip or _raise)


def read_dataset(path: Path, on_skip: OnSkip) -> Generator[PostIngested, None, None]:
    """The posts of one dataset file, streamed; an invalid item goes to ``on_skip``.

    Raises ``UnreadableFile`` when the file cannot be opened, is not JSON or not a list.
    """
    with open_json(path) as stream:
        events = ijson.parse(stream)
        try:
            first = next(events, None)
            if first is None or first[1] != "start_array":
                raise UnreadableFile(f"{path}: not a dataset file (expected a JSON list of posts)")
            for index, item in enumerate(ijson.items(events, "item")):
                try:
                    yield to_post(item)
                except InvalidItem as exc:
                    on_skip(str(exc), f"{path.name} item {index}")
        except ijson.JSONError as exc:
            raise UnreadableFile(f"{path}: invalid JSON: {json_error(exc)}") from exc
        except OSError as exc:
            raise UnreadableFile(f"{path}: read failed: {exc}") from exc


def to_post(item: Mapping[str, object]) -> PostIngested:
    """One item ``{message_id, sender_id, text, date, channel, category}`` as a payload.

    Raises ``InvalidItem`` naming the first missing or invalid field.
    """
    if not isinstance(item, Mapping):
        raise InvalidItem("item is not an object")
    for field in ("message_id", "sender_id", "date"):
        if item.get(field) is None:
            raise InvalidItem(f"missing {field}")
    sender, message_id = item["sender_id"], item["message_id"]
    if type(sender) is not int or sender == 0:
        raise InvalidItem("invalid sender_id")
    if type(message_id) is not int:
        raise InvalidItem("invalid message_id")
    try:
        date = datetime.fromisoformat(str(item["date"]))
    except ValueError:
        raise InvalidItem("invalid date") from None
    channel_id = marked_chat_id(sender, "public_channel")
    text = item.get("text")
    if text is not None and not isinstance(text, str):
        raise InvalidItem("invalid text")
    try:
        return PostIngested(
            channel_id=channel_id,
            channel_title=display_name(item.get("channel")),
            chat_kind="channel",
            message_id=message_id,
            date=date,
            text=text or "",
            permalink=permalink(channel_id, message_id),
            source="dataset",
        )
    except ValidationError as exc:
        raise InvalidItem(f"invalid {exc.errors()[0]['loc'][0]}") from None


def _raise(reason: str, where: str) -> None:
    raise ValueError(f"{where}: {reason}")
