"""The group-thread evaluation's metrics (one-to-one, exact match, VI) and how chat lines
become posts."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest

from tools.eval_group_threads import (
    _max_assignment,
    figures,
    load_samples,
    score,
    singletons,
    time_chain,
    to_post,
    write_into_report,
)

pytestmark = pytest.mark.unit

GOLD = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2", "f": "3"}


def test_identical_threads_score_perfectly() -> None:
    f = figures(score(GOLD, GOLD))
    assert (f["one_to_one"], f["exact_f1"], f["vi_bits"], f["one_minus_scaled_vi"]) == (
        1.0,
        1.0,
        0.0,
        1.0,
    )
    # single-message conversations are left out of exact match on both sides
    assert (f["gold_conversations"], f["predicted_threads"]) == (2, 2)


def test_a_merge_and_a_split_by_hand() -> None:
    auto = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "y", "f": "z"}
    f = figures(score(GOLD, auto))
    # best pairing 1↔x (2), 2↔y (2), 3↔z (1): 5 of 6
    assert f["one_to_one"] == round(5 / 6, 4)
    # only {f} matches, and it is a single message: nothing matched among the 2 + 2
    assert (f["exact_p"], f["exact_r"]) == (0.0, 0.0)
    # H(gold | auto) = 3/6 · H(1/3, 2/3); H(auto | gold) = 3/6 · H(1/3, 2/3)
    h = -(1 / 3 * math.log2(1 / 3) + 2 / 3 * math.log2(2 / 3))
    assert f["vi_bits"] == round(h, 4)
    assert f["one_minus_scaled_vi"] == round(1 - h / math.log2(6), 4)


def test_exact_match_precision_and_recall() -> None:
    auto = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "z", "f": "z"}
    f = figures(score(GOLD, auto))
    assert (f["exact_p"], f["exact_r"]) == (0.5, 0.5)


def test_assignment_is_the_best_one_to_one_pairing() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n, m = rng.randint(1, 5), rng.randint(1, 5)
        w = [[rng.randint(0, 6) for _ in range(m)] for _ in range(n)]
        if n <= m:
            best = max(
                sum(w[i][j] for i, j in enumerate(perm))
                for perm in itertools.permutations(range(m), n)
            )
        else:
            best = max(
                sum(w[i][j] for j, i in enumerate(perm))
                for perm in itertools.permutations(range(n), m)
            )
        assert _max_assignment(w) == best


def _row(line: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sample": "ubuntu-dev-x",
        "line": line,
        "ts": "2005-06-27T09:19:00",
        "author": "ann",
        "kind": "message",
        "text": "bob: try this",
        "annotated": True,
        "reply_to": [],
        "thread": "ubuntu-dev-x#1",
    }
    return {**base, **fields}


def test_chat_lines_become_posts_without_reply_ids() -> None:
    p = to_post(_row(7))
    assert p is not None
    assert (p.post_id, p.message_id, p.author_name, p.reply_to_message_id) == (
        "ubuntu-dev-x:00007",
        7,
        "ann",
        None,
    )
    assert p.date.tzinfo is not None
    assert to_post(_row(8, kind="system", author=None, ts=None)) is None
    undated = to_post(_row(9, ts=None, time="03:04", day_offset=1))
    assert undated is not None
    assert (undated.date.day, undated.date.hour) == (2, 3)


def test_samples_score_annotated_messages_and_keep_context(tmp_path: Path) -> None:
    rows = [
        _row(0, annotated=False, thread=None, ts="2005-06-25T09:00:00"),
        _row(1, annotated=False, thread=None, ts="2005-06-27T09:00:00", author="bob"),
        _row(2, kind="system", author=None, ts=None, text="=== joins"),
        _row(3),
        _row(4, author="bob", text="ann: thanks", ts="2005-06-27T09:20:00"),
    ]
    path = tmp_path / "messages.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (sample,) = load_samples(path)
    # line 0 is more than 24 h before the first annotated line; line 2 is a join
    assert [p.message_id for p in sample.posts] == [1, 3, 4]
    assert sorted(sample.gold) == ["ubuntu-dev-x:00003", "ubuntu-dev-x:00004"]
    assert sample.group == "ubuntu-dev"


def test_baselines() -> None:
    rows = [_row(1), _row(2, ts="2005-06-27T09:20:00"), _row(3, ts="2005-06-27T09:30:00")]
    posts = [p for r in rows if (p := to_post(r)) is not None]
    assert len(set(singletons(posts).values())) == 3
    chained = time_chain(posts)
    assert chained[posts[0].post_id] == chained[posts[1].post_id] != chained[posts[2].post_id]


def test_the_report_key_is_written_beside_the_others(tmp_path: Path) -> None:
    path = tmp_path / "eval-digest.json"
    path.write_text(json.dumps({"citation_validity": 1.0}), encoding="utf-8")
    write_into_report({"samples": 1}, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["citation_validity"] == 1.0
    assert doc["group_threads"]["samples"] == 1
