"""The Telegram Desktop export reader, on fixtures made from the documented result.json format."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.v1.posts import PostIngested
from tests.unit.ingest.export_factory import CHANNEL_ID, write_channel_export
from tools.telegram_export import (
    Chat,
    Skipped,
    UnreadableFile,
    export_time,
    flatten_text,
    marked_chat_id,
    media_kinds,
    message_to_post,
    permalink,
    read_export,
)

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
CHANNEL = "-1001234567890"
GROUP = "-1002233445566"


def _read(path: Path) -> tuple[dict[int, PostIngested], Counter[str], list[str]]:
    skipped: Counter[str] = Counter()
    places: list[str] = []

    def on_skip(reason: str, where: str) -> None:
        skipped[reason] += 1
        places.append(where)

    posts = list(read_export(path, on_skip))
    by_id = {p.message_id: p for p in posts}
    assert len(by_id) == len(posts), "one export chat never yields a message twice"
    return by_id, skipped, places


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _chat(kind: Any = "channel", channel_id: str = CHANNEL) -> Chat:
    return Chat(kind=kind, channel_id=channel_id, title="T")


def _message(**fields: Any) -> dict[str, Any]:
    return {"id": 5, "type": "message", "date_unixtime": "1733302828", "text": "x", **fields}


# -- a channel export ------------------------------------------------------------------------


def test_channel_export_posts_and_skips() -> None:
    posts, skipped, places = _read(FIXTURES / "channel_result.json")
    assert sorted(posts) == [2, 3, 4, 5, 6, 7, 9, 10, 13, 15]
    assert skipped == {
        "service message": 2,
        "missing date": 1,
        "malformed text": 1,
        "invalid id": 1,
        "message is not an object": 1,
    }
    assert "channel_result.json chat -1001234567890 message 11" in places
    for post in posts.values():
        assert post.channel_id == CHANNEL
        assert post.channel_title == "Новости Тест 🚀"
        assert post.chat_kind == "channel"
        assert post.source == "telegram_export"
        assert post.permalink == f"https://t.me/c/1234567890/{post.message_id}"
        assert (post.author_id, post.author_name) == (None, None)  # channels: no author
        assert (post.views, post.forwards, post.replies) == (None, None, None)


def test_channel_post_fields() -> None:
    posts, _, _ = _read(FIXTURES / "channel_result.json")
    first = posts[2]
    # date_unixtime wins over the exporting machine's local "date" (12:00:28, UTC+3)
    assert first.date == _utc("2024-12-04T09:00:28")
    assert first.text == "Первый пост канала."
    assert first.edit_date is None
    assert first.reactions == 15  # 12 emoji + 3 custom emoji
    assert first.media_kinds == []
    assert posts[4].edit_date == _utc("2024-12-04T09:25:30")
    assert posts[4].date == _utc("2024-12-04T09:20:00")
    assert posts[7].forwarded_from == "Mash"
    assert posts[15].reactions == 0  # an empty reactions list
    assert posts[3].reactions is None  # no reactions key


def test_rich_text_is_flattened_with_link_targets() -> None:
    posts, _, _ = _read(FIXTURES / "channel_result.json")
    assert posts[3].text == (
        "Главное за день: **курс доллара** упал. Подробнее: [на сайте](https://example.ru/news/1)"
        "\nИсточник: https://example.ru/src #экономика @mash __мнение__ `x = 1`"
        "\n```python\nprint('hi')\n```"
    )


def test_media_kinds_and_empty_text_with_photo() -> None:
    posts, _, _ = _read(FIXTURES / "channel_result.json")
    kinds = {i: p.media_kinds for i, p in posts.items() if p.media_kinds}
    assert kinds == {5: ["photo"], 6: ["video"], 9: ["document"], 10: ["other"], 13: ["video"]}
    assert posts[5].text == ""
    assert posts[6].text == "Видео с места событий"  # a caption


# -- a group export --------------------------------------------------------------------------


def test_group_export_authors_replies_forwards_edits() -> None:
    posts, skipped, _ = _read(FIXTURES / "group_result.json")
    assert skipped == {"service message": 4}  # migrate, join, pin, remove
    assert sorted(posts) == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]
    assert {p.chat_kind for p in posts.values()} == {"group"}
    assert {p.channel_id for p in posts.values()} == {GROUP}
    assert posts[3].channel_title == "Соседи ЖК «Северный»"
    assert (posts[3].author_id, posts[3].author_name) == ("user184467201", "Ольга К.")
    assert (posts[4].author_id, posts[4].author_name) == ("user555000111", "Иван")
    assert posts[4].reply_to_message_id == 3
    assert posts[3].reply_to_message_id is None
    assert posts[5].forwarded_from == "Mash"
    assert posts[6].edit_date == _utc("2024-12-04T07:40:00")
    assert posts[6].reactions == 5
    assert (posts[12].author_id, posts[12].author_name) == ("user999", None)  # deleted account
    assert posts[13].author_id == "channel2233445566"  # an anonymous admin posts as the group
    assert posts[14].text == (
        "Правила чата: [читать](https://t.me/c/2233445566/1) и ~~не спорить~~ Иван"
    )
    assert posts[14].permalink == "https://t.me/c/2233445566/14"


def test_group_media_kinds() -> None:
    posts, _, _ = _read(FIXTURES / "group_result.json")
    kinds = {i: p.media_kinds for i, p in posts.items() if p.media_kinds}
    assert kinds == {7: ["voice"], 8: ["sticker"], 9: ["audio"], 10: ["video"]}
    assert posts[7].reply_to_message_id == 6
    assert posts[7].text == ""


# -- a full-account export -------------------------------------------------------------------


def test_full_account_export_reads_channels_and_groups_of_every_chat_list() -> None:
    skipped: Counter[str] = Counter()
    posts = list(
        read_export(FIXTURES / "full_account_result.json", lambda r, w: skipped.update([r]))
    )
    got = [(p.channel_id, p.message_id, p.chat_kind, p.channel_title) for p in posts]
    assert got == [
        ("-1001500000001", 2, "channel", "Tech Daily"),
        ("-1001500000001", 3, "channel", "Tech Daily"),
        ("-4000001", 2, "group", "Семья"),
        ("-4000001", 3, "group", "Семья"),
        ("-1001600000002", 7, "group", "Dev chat"),
        ("-1001700000003", 100, "channel", "Old news"),  # from left_chats
    ]
    assert skipped == {
        "not a channel or group (personal_chat)": 2,
        "not a channel or group (saved_messages)": 1,
        "chat without a valid id": 1,
        "service message": 2,
    }
    basic = [p for p in posts if p.channel_id == "-4000001"]
    assert [p.permalink for p in basic] == [None, None]  # basic groups have no message links
    assert basic[1].reply_to_message_id == 2
    assert posts[4].text == "see https://docs.python.org"


# -- pieces ----------------------------------------------------------------------------------


def test_marked_ids_and_permalinks() -> None:
    assert marked_chat_id(1101170442, "public_channel") == "-1001101170442"
    assert marked_chat_id(1101170442, "private_supergroup") == "-1001101170442"
    assert marked_chat_id(4000001, "private_group") == "-4000001"
    assert marked_chat_id(-1001101170442, "public_channel") == "-1001101170442"
    assert permalink("-1001101170442", 7) == "https://t.me/c/1101170442/7"
    assert permalink("-1001234", 7) is None  # a basic group whose id starts with 100
    assert permalink("naked_science", 7) is None


@pytest.mark.parametrize(
    ("text", "flat"),
    [
        ("plain", "plain"),
        ([], ""),
        ([{"type": "text_link", "text": "x"}], "x"),  # no href: the label alone
        ([{"type": "pre", "text": "a"}], "```\na\n```"),
        ([{"type": "bold", "text": " "}], " "),  # no empty markers around blanks
        ([{"type": "spoiler", "text": "s"}, {"type": "custom_emoji", "text": "🔥"}], "||s||🔥"),
        ([{"type": "blockquote", "text": "q"}, {"type": "email", "text": "a@b.c"}], "qa@b.c"),
    ],
)
def test_flatten_text(text: object, flat: str) -> None:
    assert flatten_text(text) == flat


@pytest.mark.parametrize("text", [42, None, [{"type": "bold"}], [1], {"text": "x"}])
def test_flatten_text_rejects_other_shapes(text: object) -> None:
    with pytest.raises(Skipped, match="malformed text"):
        flatten_text(text)


def test_media_kind_mapping() -> None:
    assert media_kinds({"media_type": "voice_message", "file": "f"}) == ["voice"]
    assert media_kinds({"media_type": "something_new", "file": "f"}) == ["other"]
    assert media_kinds({"location_information": {}}) == ["other"]
    assert media_kinds({"file": "(File not included.)"}) == ["document"]
    assert media_kinds({"text": "x"}) == []


def test_times_prefer_unixtime_else_read_local_time_as_utc() -> None:
    both = {"date": "2024-12-04T12:00:28", "date_unixtime": "1733302828"}
    assert export_time(both, "date_unixtime", "date") == _utc("2024-12-04T09:00:28")
    old = {"date": "2019-01-02T03:04:05"}  # exports before 2021 had no unixtime
    assert export_time(old, "date_unixtime", "date") == _utc("2019-01-02T03:04:05")
    assert export_time({}, "edited_unixtime", "edited") is None
    with pytest.raises(Skipped, match="invalid date_unixtime"):
        export_time({"date_unixtime": "soon"}, "date_unixtime", "date")
    with pytest.raises(Skipped, match="invalid date"):
        export_time({"date": "yesterday"}, "date_unixtime", "date")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "service"}, "service message"),
        ({"type": "reaction"}, "unknown message type"),
        ({"id": None}, "invalid id"),
        ({"id": 0}, "invalid id"),
        ({"id": 2**31}, "invalid id"),
        ({"id": True}, "invalid id"),
        ({"date_unixtime": None}, "missing date"),
        ({"edited_unixtime": "x"}, "invalid edited_unixtime"),
        ({"reply_to_message_id": 0}, "invalid reply_to_message_id"),
        ({"text": "я" * 65_537}, "invalid text"),
        ({"reactions": [{"count": -1}]}, "invalid reactions"),
        ({"reactions": {"👍": 1}}, "invalid reactions"),
    ],
)
def test_malformed_messages_are_skipped_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(Skipped) as caught:
        message_to_post(_message(**fields), _chat())
    assert caught.value.reason == reason


def test_text_entities_stand_in_for_a_missing_text() -> None:
    message = _message(
        text_entities=[{"type": "plain", "text": "a"}, {"type": "bold", "text": "b"}]
    )
    del message["text"]
    assert message_to_post(message, _chat()).text == "a**b**"


def test_long_names_are_cut_not_rejected() -> None:
    post = message_to_post(_message(forwarded_from="x" * 300), _chat())
    assert post.forwarded_from == "x" * 256


# -- files -----------------------------------------------------------------------------------


def test_a_cut_file_yields_what_it_had_then_names_itself(tmp_path: Path) -> None:
    whole = (FIXTURES / "group_result.json").read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(whole[: whole.index(b'"id": 9,')])
    posts = read_export(cut, lambda r, w: None)
    seen = [next(posts).message_id for _ in range(6)]
    assert seen == [3, 4, 5, 6, 7, 8]
    with pytest.raises(UnreadableFile, match=r"cut\.json: invalid JSON"):
        next(posts)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"[]", "top level is not an object"),
        (b'{"name": "x", "chats": {"about": "no list"}}', "no chat with messages"),
        (b"not json", "invalid JSON"),
        (b"", "invalid JSON"),
    ],
)
def test_files_that_are_not_exports(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=error):
        list(read_export(path, lambda r, w: None))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"nope\.json: cannot open"):
        list(read_export(tmp_path / "nope.json", lambda r, w: None))


def test_byte_order_mark_and_empty_chat(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    chat = {"name": "Пусто", "type": "private_channel", "id": 5, "messages": []}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(chat).encode())
    assert list(read_export(path, lambda r, w: None)) == []


def test_a_chat_whose_header_follows_its_messages_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"messages": [_message()], "type": "public_channel", "id": 5}))
    skipped: Counter[str] = Counter()
    assert list(read_export(path, lambda r, w: skipped.update([r]))) == []
    assert skipped == {"not a channel or group (no type)": 1}


def test_a_large_export_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    expected = write_channel_export(path, 50_000)
    size = path.stat().st_size
    skipped: Counter[str] = Counter()
    tracemalloc.start()
    try:
        count = 0
        last = None
        for post in read_export(path, lambda r, w: skipped.update([r])):
            count += 1
            last = post
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == expected == 45_000
    assert skipped == {"service message": 5_000}
    assert last is not None
    assert last.channel_id == f"-100{CHANNEL_ID}"
    assert last.text == "Сообщение 49999 о **важном** [тут](https://example.ru/49999)"
    # json.load of the same file peaks near 9x its size; streaming holds a message at a time
    assert size > 15_000_000
    assert peak < 8_000_000, f"peak {peak:,} bytes for a {size:,}-byte export"
