"""Streaming reader of Telegram Desktop exports (``result.json``) into ``PostIngested`` payloads.

Two shapes are read: a single-chat export ``{"name", "type", "id", "messages": [...]}`` and a
full-account export, whose chats sit in ``chats.list`` and ``left_chats.list``. The file is read
event by event with ijson, so only the current message is in memory and a multi-GB export is
fine. A chat's ``type`` and ``id`` must come before its ``messages``, as Telegram Desktop
writes them.

Identity. Exports carry no public username, so ``channel_id`` is the numeric chat id in the
Bot API ("marked") form the contract documents: ``-100<id>`` for channels and supergroups,
``-<id>`` for basic groups. Telethon, the Bot API and the shipped dataset (``sender_id``) use
the same form, so one channel gets one id whichever way its posts arrive, and the id never
changes when a channel renames itself or drops its username, as a username would.

Skipping. Service messages (joins, pins, title changes), chats that are neither a channel nor
a group (personal chats, bots, saved messages) and malformed messages are not turned into
posts; each one is reported to ``on_skip(reason, where)``. A file that is not JSON or not an
export raises ``UnreadableFile``, which names it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import ijson  # type: ignore[import-untyped]  # no stubs; used through parse/ObjectBuilder
from pydantic import ValidationError

from contracts.v1.common import ChatKind
from contracts.v1.posts import MediaKind, PostIngested

OnSkip = Callable[[str, str], None]
"""Told ``(reason, where)`` for every message that does not become a post."""

NAME_MAX: Final = 256
MAX_MESSAGE_ID: Final = 2**31 - 1
SERVICE_MESSAGE: Final = "service message"
NOT_CHANNEL_OR_GROUP: Final = "not a channel or group"
_CHANNEL_SHIFT: Final = 1_000_000_000_000
"""Bot API: a channel or supergroup with id ``n`` is chat ``-(10**12 + n)``."""

_CHAT_KINDS: Final[Mapping[str, ChatKind]] = {
    "public_channel": "channel",
    "private_channel": "channel",
    "public_supergroup": "group",
    "private_supergroup": "group",
    "private_group": "group",
}
_BASIC_GROUP: Final = "private_group"

_MEDIA_TYPES: Final[Mapping[str, MediaKind]] = {
    "video_file": "video",
    "video_message": "video",
    "animation": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
}
_OTHER_MEDIA_KEYS: Final = (
    "poll",
    "location_information",
    "contact_information",
    "place_name",
    "game_title",
    "invoice_information",
)
# Rich-text entities rendered as Telethon-style markdown, the form the dataset's texts use.
_WRAPS: Final[Mapping[str, str]] = {
    "bold": "**",
    "italic": "__",
    "strikethrough": "~~",
    "code": "`",
    "spoiler": "||",
}

# Where chats and their messages sit, for a single-chat ("") and a full-account export.
_CHAT_PREFIXES: Final = ("", "chats.list.item", "left_chats.list.item")
_HEADER_FIELDS: Final[Mapping[str, tuple[str, str]]] = {
    f"{chat}.{field}".lstrip("."): (chat, field)
    for chat in _CHAT_PREFIXES
    for field in ("name", "type", "id")
}
_MESSAGE_LISTS: Final[Mapping[str, str]] = {
    f"{chat}.messages".lstrip("."): chat for chat in _CHAT_PREFIXES
}
_MESSAGE_ITEMS: Final[Mapping[str, str]] = {
    f"{chat}.messages.item".lstrip("."): chat for chat in _CHAT_PREFIXES
}
_OPEN: Final = frozenset({"start_map", "start_array"})
_CLOSE: Final = frozenset({"end_map", "end_array"})


class UnreadableFile(Exception):
    """A file cannot be read as the expected format (missing, not JSON, truncated, wrong shape).

    The message names the file.
    """


class Skipped(Exception):
    """A message is not turned into a post; ``reason`` says why (short and stable, for counts)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_expected_skip(reason: str) -> bool:
    """Whether a skip is by design (a service message, a personal chat), not bad data."""
    return reason == SERVICE_MESSAGE or reason.startswith(NOT_CHANNEL_OR_GROUP)


@dataclass(frozen=True, slots=True)
class Chat:
    """What every post of one exported chat shares."""

    kind: ChatKind
    channel_id: str
    title: str | None


def marked_chat_id(raw_id: int, chat_type: str) -> str:
    """The Bot API id of an exported chat: ``-100<id>`` for channels and supergroups,
    ``-<id>`` for basic groups (``private_group``); an already negative id is kept."""
    if raw_id < 0:
        return str(raw_id)
    return str(-raw_id if chat_type == _BASIC_GROUP else -(_CHANNEL_SHIFT + raw_id))


def permalink(channel_id: str, message_id: int) -> str | None:
    """``https://t.me/c/<id>/<message>`` for a channel or supergroup (marked ``-100…`` id).

    Basic groups have no message links, and the public ``t.me/<username>/…`` form needs a
    username that exports do not contain; both give ``None``.
    """
    try:
        value = int(channel_id)
    except ValueError:
        return None
    if value > -_CHANNEL_SHIFT:
        return None
    return f"https://t.me/c/{-value - _CHANNEL_SHIFT}/{message_id}"


def display_name(value: object) -> str | None:
    """A name as the contract takes it: a non-empty string, cut to 256 characters, or None."""
    if not isinstance(value, str) or not value:
        return None
    return value[:NAME_MAX]


def flatten_text(value: object) -> str:
    """Plain text of an export's ``text``: a string, or a list of strings and entity objects.

    Links keep their target (``[label](https://…)``); bold, italic, strikethrough, code,
    spoilers and ``pre`` blocks become Telegram-style markdown, which the indexer cleans; any
    other entity (mention, hashtag, link, email, custom emoji…) is its text. Raises
    ``Skipped`` when the value has another shape.
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise Skipped("malformed text")
    parts: list[str] = []
    for part in value:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(_render(part))
        else:
            raise Skipped("malformed text")
    return "".join(parts)


def _render(entity: Mapping[str, Any]) -> str:
    kind, text = entity.get("type"), str(entity["text"])
    href = entity.get("href")
    if kind == "text_link" and isinstance(href, str) and href:
        return f"[{text}]({href})"
    if kind == "pre":
        language = entity.get("language")
        return f"```{language if isinstance(language, str) else ''}\n{text}\n```"
    wrap = _WRAPS.get(kind) if isinstance(kind, str) else None
    return f"{wrap}{text}{wrap}" if wrap and text.strip() else text


def media_kinds(message: Mapping[str, Any]) -> list[MediaKind]:
    """The contract's media kind of a message's attachment (an export has at most one)."""
    if "photo" in message:
        return ["photo"]
    media_type = message.get("media_type")
    if media_type is not None:
        return [_MEDIA_TYPES.get(str(media_type), "other")]
    if "file" in message:
        return ["document"]
    if any(key in message for key in _OTHER_MEDIA_KEYS):
        return ["other"]
    return []


def total_reactions(message: Mapping[str, Any]) -> int | None:
    """Sum of ``reactions[].count`` over every kind; None when the export has no reactions."""
    raw = message.get("reactions")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise Skipped("invalid reactions")
    total = 0
    for item in raw:
        count = item.get("count") if isinstance(item, dict) else None
        if type(count) is not int or count < 0:
            raise Skipped("invalid reactions")
        total += count
    return total


def export_time(message: Mapping[str, Any], unix_key: str, local_key: str) -> datetime | None:
    """An aware UTC time from ``<unix_key>`` (epoch seconds as a string), else from the
    zone-less ``<local_key>`` read as UTC (exports before 2021 have no unixtime fields)."""
    raw = message.get(unix_key)
    if raw is not None:
        try:
            return datetime.fromtimestamp(int(raw), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise Skipped(f"invalid {unix_key}") from None
    local = message.get(local_key)
    if local is None:
        return None
    try:
        parsed = datetime.fromisoformat(local)
    except (TypeError, ValueError):
        raise Skipped(f"invalid {local_key}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def message_to_post(message: Mapping[str, Any], chat: Chat) -> PostIngested:
    """One exported message as a payload; raises ``Skipped`` for service or malformed ones."""
    kind = message.get("type")
    if kind == "service":
        raise Skipped(SERVICE_MESSAGE)
    if kind != "message":
        raise Skipped("unknown message type")
    message_id = message.get("id")
    if type(message_id) is not int or not 1 <= message_id <= MAX_MESSAGE_ID:
        raise Skipped("invalid id")
    date = export_time(message, "date_unixtime", "date")
    if date is None:
        raise Skipped("missing date")
    text = message["text"] if "text" in message else message.get("text_entities", "")
    group = chat.kind == "group"
    try:
        return PostIngested(
            channel_id=chat.channel_id,
            channel_title=chat.title,
            chat_kind=chat.kind,
            message_id=message_id,
            date=date,
            edit_date=export_time(message, "edited_unixtime", "edited"),
            text=flatten_text(text),
            author_id=message.get("from_id") if group else None,
            author_name=display_name(message.get("from")) if group else None,
            reply_to_message_id=message.get("reply_to_message_id"),
            forwarded_from=display_name(message.get("forwarded_from")),
            reactions=total_reactions(message),
            permalink=permalink(chat.channel_id, message_id),
            media_kinds=media_kinds(message),
            source="telegram_export",
        )
    except ValidationError as exc:
        raise Skipped(f"invalid {exc.errors()[0]['loc'][0]}") from None


def chat_of(header: Mapping[str, Any]) -> Chat:
    """The chat described by an export's ``name``/``type``/``id``; raises ``Skipped``
    (for each of its messages) when it is not a channel or group, or has no valid id."""
    chat_type, raw_id = str(header.get("type") or ""), header.get("id")
    kind = _CHAT_KINDS.get(chat_type)
    if kind is None:
        raise Skipped(f"{NOT_CHANNEL_OR_GROUP} ({chat_type or 'no type'})")
    if type(raw_id) is not int or raw_id == 0:
        raise Skipped("chat without a valid id")
    return Chat(kind, marked_chat_id(raw_id, chat_type), display_name(header.get("name")))


@contextmanager
def open_json(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for ijson, past a UTF-8 byte order mark; ``UnreadableFile`` if not."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with stream:
        if stream.read(3) != b"\xef\xbb\xbf":
            stream.seek(0)
        yield stream


def json_error(exc: Exception) -> str:
    """The first line of an ijson error (yajl adds a drawing of where it stopped)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_export(path: Path, on_skip: OnSkip) -> Generator[PostIngested, None, None]:
    """Every post of every channel and group in the export at ``path``, in file order.

    Raises ``UnreadableFile`` when the file is not JSON, is cut short, or holds no chat.
    """
    with open_json(path) as stream:
        try:
            yield from _walk(ijson.parse(stream), path.name, on_skip)
        except ijson.JSONError as exc:
            raise UnreadableFile(f"{path}: invalid JSON: {json_error(exc)}") from exc
        except OSError as exc:
            raise UnreadableFile(f"{path}: read failed: {exc}") from exc
        except _NotAnExport as exc:
            raise UnreadableFile(f"{path}: {exc}") from exc


class _NotAnExport(Exception):
    pass


def _walk(
    events: Iterable[tuple[str, str, Any]], where: str, on_skip: OnSkip
) -> Iterator[PostIngested]:
    """Route ijson events: chat header scalars are kept per chat position, each message is
    built alone with an ``ObjectBuilder`` and converted as soon as it closes."""
    headers: dict[str, dict[str, Any]] = {chat: {} for chat in _CHAT_PREFIXES}
    chats: dict[str, tuple[Chat | Skipped, str]] = {}
    builder: Any = None
    depth, owner, found, first = 0, "", False, True
    for prefix, event, value in events:
        if builder is not None:  # inside a message: the hot path
            builder.event(event, value)
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
                if depth == 0:
                    post = _convert(builder.value, *chats[owner], on_skip)
                    builder = None
                    if post is not None:
                        yield post
            continue
        if first:
            first = False
            if event != "start_map":
                raise _NotAnExport("not a Telegram export: the top level is not an object")
        if prefix in _MESSAGE_ITEMS:
            owner = _MESSAGE_ITEMS[prefix]
            if event in _OPEN:
                builder, depth = ijson.ObjectBuilder(), 1
                builder.event(event, value)
            else:
                _convert(value, *chats[owner], on_skip)
        elif prefix in _HEADER_FIELDS and event not in _OPEN:
            chat, field = _HEADER_FIELDS[prefix]
            headers[chat][field] = value
        elif event == "start_array" and prefix in _MESSAGE_LISTS:
            found = True
            chat = _MESSAGE_LISTS[prefix]
            chats[chat] = _chat_entry(headers[chat], where)
        elif event == "start_map" and prefix in headers:
            headers[prefix] = {}
    if not found:
        raise _NotAnExport("not a Telegram export: no chat with messages found")


def _chat_entry(header: Mapping[str, Any], where: str) -> tuple[Chat | Skipped, str]:
    """The chat (or why its messages are skipped) and how skip reports name it."""
    try:
        chat = chat_of(header)
    except Skipped as exc:
        name = header.get("name") or header.get("id") or header.get("type") or "?"
        return exc, f"{where} chat {name!r}"
    return chat, f"{where} chat {chat.channel_id}"


def _convert(
    message: object, chat: Chat | Skipped, where: str, on_skip: OnSkip
) -> PostIngested | None:
    raw_id = message.get("id") if isinstance(message, dict) else None
    place = f"{where} message {raw_id if raw_id is not None else '?'}"
    if isinstance(chat, Skipped):
        on_skip(chat.reason, place)
        return None
    if not isinstance(message, dict):
        on_skip("message is not an object", place)
        return None
    try:
        return message_to_post(message, chat)
    except Skipped as exc:
        on_skip(exc.reason, place)
        return None
