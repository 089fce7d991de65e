"""Group-digest threads: reply links first, then addressing, author continuity and rare shared
words, each within one chat; deterministic."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from services.digest.domain.model import Post
from services.digest.domain.threads import ThreadParams, build_threads
from tests.unit.digest.fakes import post

pytestmark = pytest.mark.unit


def _ids(posts: list[Post], **params: object) -> list[list[int]]:
    threads = build_threads(posts, ThreadParams(**params) if params else None)  # type: ignore[arg-type]
    return [[p.message_id for p in t.posts] for t in threads]


def test_addressing_an_author_joins_their_latest_thread_across_interleaved_talk() -> None:
    msgs = [
        post("g", 1, "how do I mount an ntfs partition", minutes=0, author_name="ann"),
        post("g", 2, "anyone seen the new kernel release", minutes=1, author_name="bob"),
        post("g", 3, "ANN: use ntfs-3g", minutes=2, author_name="cat"),
        post("g", 4, "bob, yes it boots fine here", minutes=3, author_name="dan"),
        post("g", 5, "@Cat thanks, it worked", minutes=4, author_name="eve"),
    ]
    # dan and eve never wrote before: only the address puts them in a thread
    assert _ids(msgs) == [[1, 3, 5], [2, 4]]


def test_multi_word_display_names_are_addressed_too() -> None:
    msgs = [
        post("g", 1, "Где взять ключ от серверной", minutes=0, author_name="Иван Петров"),
        post("g", 2, "Кто идёт обедать", minutes=1, author_name="Олег"),
        post("g", 3, "Иван Петров, у охраны", minutes=2, author_name="Анна"),
    ]
    assert _ids(msgs) == [[1, 3], [2]]


def test_a_reply_link_wins_over_an_address() -> None:
    msgs = [
        post("g", 1, "deploy is broken", minutes=0, author_name="ann"),
        post("g", 2, "lunch at noon", minutes=1, author_name="bob"),
        post("g", 3, "bob: rolled it back", minutes=2, author_name="cat", reply_to_message_id=1),
    ]
    assert _ids(msgs) == [[1, 3], [2]]


def test_an_address_needs_a_recent_author_other_than_the_writer() -> None:
    msgs = [
        post("g", 1, "deploy failed on staging", minutes=0, author_name="ann"),
        post("g", 2, "Note: the office is closed", minutes=1, author_name="bob"),
        post("g", 3, "ann: which commit", minutes=2, author_name="cat"),
        post("g", 4, "bob: reminder to self", minutes=20, author_name="bob"),
        post("g", 5, "cat: thanks", minutes=100, author_name="eve"),
        post("g", 6, "zed: hello", minutes=101, author_name="fay"),
    ]
    # nobody is called "note"; bob addresses himself; cat wrote 98 min before eve (the
    # window is 60 min); zed never wrote
    assert _ids(msgs) == [[1, 3], [2], [4], [5], [6]]
    assert _ids(msgs, address_window=timedelta(hours=2)) == [[1, 3, 5], [2], [4], [6]]


def test_an_author_continues_their_own_thread_within_the_gap() -> None:
    msgs = [
        post("g", 1, "my wifi drops every hour", minutes=0, author_name="ann"),
        post("g", 2, "who watched the match", minutes=1, author_name="bob"),
        post("g", 3, "driver is iwlwifi by the way", minutes=5, author_name="ann"),
        post("g", 4, "still dropping", minutes=30, author_name="ann"),
        post("g", 5, "anonymous note", minutes=31),
        post("g", 6, "unrelated remark", minutes=32),
    ]
    # messages without an author never continue each other
    assert _ids(msgs) == [[1, 3], [2], [4], [5], [6]]
    assert _ids(msgs, gap=timedelta(minutes=30)) == [[1, 3, 4], [2], [5], [6]]


def test_shared_words_need_two_stems_not_common_in_the_chat() -> None:
    common = [
        post("g", i, f"ubuntu install question {i}", minutes=i * 0.1, author_name=f"u{i}")
        for i in range(1, 5)
    ]
    msgs = [
        *common,
        post("g", 10, "grub rescue prompt after resize", minutes=1, author_name="ann"),
        post("g", 11, "grub shows rescue prompt here too", minutes=2, author_name="bob"),
        post("g", 12, "the grub menu is gone", minutes=3, author_name="cat"),
        post("g", 13, "ubuntu install fails on my laptop", minutes=4, author_name="dan"),
    ]
    threads = _ids(msgs)
    # bob shares grub + rescue + prompt with ann; cat only "grub"; dan only stems four
    # earlier messages already used
    assert [10, 11] in threads
    assert [12] in threads
    assert [13] in threads
    assert [10, 11, 12] in _ids(msgs, min_shared=1)


def test_cues_stay_within_one_chat() -> None:
    msgs = [
        post("g", 1, "printer jammed again", minutes=0, author_name="ann"),
        post("h", 1, "ann: meeting moved", minutes=1, author_name="bob"),
        post("h", 2, "printer jammed again", minutes=2, author_name="ann"),
    ]
    assert [[p.post_id for p in t.posts] for t in build_threads(msgs)] == [
        ["t1:g:1"],
        ["t1:h:1"],
        ["t1:h:2"],
    ]


def test_threads_do_not_depend_on_input_order_and_same_time_follows_message_ids() -> None:
    msgs = [
        post("g", i, text, minutes=0, author_name=who)
        for i, (who, text) in enumerate(
            [("ann", "first"), ("bob", "ann: second"), ("cat", "third"), ("ann", "cat: ok")] * 3,
            start=1,
        )
    ]
    expected = build_threads(msgs)
    for seed in range(5):
        shuffled = msgs[:]
        random.Random(seed).shuffle(shuffled)
        again = build_threads(shuffled)
        assert [t.thread_id for t in again] == [t.thread_id for t in expected]
        assert [[p.message_id for p in t.posts] for t in again] == [
            [p.message_id for p in t.posts] for t in expected
        ]
    # one timestamp: by message id, though "t1:g:10" sorts before "t1:g:9" as text
    assert [[p.message_id for p in t.posts] for t in expected] == [[1, 2], list(range(3, 13))]
