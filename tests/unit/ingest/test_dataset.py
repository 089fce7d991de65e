"""The reader of the shipped dataset (``tg-ru-news-channels``)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools.dataset import (
    InvalidItem,
    channel_posts,
    data_dir,
    dataset_files,
    read_dataset,
    to_post,
)
from tools.telegram_export import UnreadableFile

pytestmark = pytest.mark.unit

ITEM: dict[str, Any] = {
    "message_id": 11877,
    "sender_id": -1001000724666,
    "text": "В Китае нашли ударный кратер\n\n**жирный** [ссылка](https://naked-science.ru/a)",
    "date": "2024-12-04T09:00:28+00:00",
    "channel": "Naked Science",
    "category": "science",
}


def _write(path: Path, items: list[Any]) -> Path:
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def test_item_becomes_a_post() -> None:
    post = to_post(ITEM)
    assert post.channel_id == "-1001000724666"  # the Bot API id, as a Telegram export gets it
    assert post.channel_title == "Naked Science"
    assert post.chat_kind == "channel"
    assert post.message_id == 11877
    assert post.date == datetime(2024, 12, 4, 9, 0, 28, tzinfo=UTC)
    assert post.text == ITEM["text"]  # Telegram markdown is the indexer's to clean
    assert post.permalink == "https://t.me/c/1000724666/11877"
    assert post.source == "dataset"
    assert post.language is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"date": None}, "missing date"),
        ({"message_id": None}, "missing message_id"),
        ({"sender_id": "-100x"}, "invalid sender_id"),
        ({"message_id": "7"}, "invalid message_id"),
        ({"message_id": 0}, "invalid message_id"),
        ({"date": "04.12.2024"}, "invalid date"),
        ({"date": "2024-12-04T09:00:28"}, "invalid date"),  # no zone: not guessed
        ({"text": 5}, "invalid text"),
    ],
)
def test_invalid_items_are_named(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidItem) as caught:
        to_post({**ITEM, **change})
    assert str(caught.value) == reason


def test_a_file_streams_and_reports_bad_items(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "1001000724666_messages.json",
        [ITEM, {**ITEM, "message_id": 2, "date": None}, "oops", {**ITEM, "message_id": 3}],
    )
    skipped: list[tuple[str, str]] = []
    posts = list(read_dataset(path, lambda r, w: skipped.append((r, w))))
    assert [p.message_id for p in posts] == [11877, 3]
    assert skipped == [
        ("missing date", "1001000724666_messages.json item 1"),
        ("item is not an object", "1001000724666_messages.json item 2"),
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"a": 1}', "expected a JSON list"),
        (b"[{", "invalid JSON"),
        (b"", "invalid JSON: parse error: premature EOF$"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "x_messages.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=f"x_messages.json.*{error}"):
        list(read_dataset(path, lambda r, w: None))


def test_channel_posts_raises_on_a_bad_item_unless_told_where_to_report(tmp_path: Path) -> None:
    _write(tmp_path / "1_messages.json", [ITEM])
    _write(tmp_path / "2_messages.json", [{**ITEM, "date": None}])
    (tmp_path / "notes.json").write_text("[]")
    assert [p.name for p in dataset_files(tmp_path)] == ["1_messages.json", "2_messages.json"]
    with pytest.raises(ValueError, match=r"2_messages\.json item 0: missing date"):
        list(channel_posts(tmp_path))
    skipped: Counter[str] = Counter()
    assert len(list(channel_posts(tmp_path, lambda r, w: skipped.update([r])))) == 1
    assert skipped == {"missing date": 1}


def test_missing_folder() -> None:
    with pytest.raises(FileNotFoundError, match="set TGI_DATA_DIR"):
        next(channel_posts(Path("/nonexistent/raw")))


def test_the_shipped_dataset_reads_whole() -> None:
    skipped: Counter[str] = Counter()
    per_channel: Counter[str] = Counter()
    for post in channel_posts(on_skip=lambda r, w: skipped.update([r])):
        per_channel[post.channel_id] += 1
    assert not skipped
    assert sum(per_channel.values()) == 22_099
    assert len(per_channel) == 24
    files = dataset_files(data_dir() / "tg-ru-news-channels" / "raw")
    assert {f"-{f.name.split('_')[0]}" for f in files} == set(per_channel)
