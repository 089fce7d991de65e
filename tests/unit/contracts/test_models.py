"""Rules of individual payload models that the JSON Schemas cannot express."""

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.examples import load_example
from contracts.v1 import (
    AnswerQuery,
    DeadLetter,
    GenerateDigest,
    PostIngested,
    RetrieveDocuments,
    TrendDetected,
    post_id,
    split_post_id,
)

pytestmark = pytest.mark.unit


def _payload(topic: str, name: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = load_example(topic, name)["payload"]
    return payload | changes


def test_post_natural_key() -> None:
    post = PostIngested.model_validate(_payload("posts.ingested.v1", "channel-post"))
    assert post.natural_key("demo") == "demo:-1001237513492:73169"
    assert split_post_id(post.natural_key("demo")) == ("demo", "-1001237513492", 73169)
    assert post_id("t", "durov", 1) == "t:durov:1"
    for bad in ("demo:a:b:1", "demo:chan", "demo:chan:0", "de mo:chan:1"):
        with pytest.raises(ValueError, match="not a post id"):
            split_post_id(bad)


def test_post_text_may_be_empty_but_is_bounded() -> None:
    assert (
        PostIngested.model_validate(_payload("posts.ingested.v1", "channel-post", text="")).text
        == ""
    )
    with pytest.raises(ValidationError, match="text"):
        PostIngested.model_validate(
            _payload("posts.ingested.v1", "channel-post", text="x" * 65_537)
        )
    with pytest.raises(ValidationError, match="media_kinds"):
        PostIngested.model_validate(
            _payload("posts.ingested.v1", "channel-post", media_kinds=["photo"] * 21)
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "group"},  # period_days but no window_hours
        {"kind": "channel", "period_days": None},
        {"kind": "channel", "window_hours": 4},
    ],
)
def test_digest_window_must_match_kind(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="digest needs"):
        GenerateDigest.model_validate(_payload("digest.requested.v1", "channels-weekly", **changes))


def test_group_digest_with_window_is_valid() -> None:
    digest = GenerateDigest.model_validate(_payload("digest.requested.v1", "group-window"))
    assert (digest.kind, digest.window_hours, digest.period_days) == ("group", 12, None)


def test_time_ranges_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="since must not be after until"):
        AnswerQuery.model_validate(
            _payload("queries.requested.v1", "question", since="2024-12-05T00:00:00Z")
        )
    retrieval = _payload("retrieval.requested.v1", "qa")
    retrieval["filters"] = retrieval["filters"] | {"since": "2024-12-05T00:00:00Z"}
    with pytest.raises(ValidationError, match="since must not be after until"):
        RetrieveDocuments.model_validate(retrieval)
    with pytest.raises(ValidationError, match="window_start"):
        TrendDetected.model_validate(
            _payload("trend.detected.v1", "emerging", window_start="2024-12-04T10:00:00Z")
        )


def test_retrieval_defaults_and_unique_legs() -> None:
    request = RetrieveDocuments(request_id="r1", query="курс доллара", domain="qa")
    assert (request.top_k, request.graph_depth, request.legs) == (
        10,
        1,
        ["dense", "sparse", "graph"],
    )
    with pytest.raises(ValidationError, match="unique"):
        RetrieveDocuments(request_id="r1", query="q", domain="qa", legs=["graph", "graph"])
    with pytest.raises(ValidationError, match="graph_depth"):
        RetrieveDocuments(request_id="r1", query="q", domain="qa", graph_depth=4)


def test_dead_letter_from_failure_keeps_the_original_bytes() -> None:
    value = "не JSON вовсе".encode()
    letter = DeadLetter.from_failure(
        original_topic="posts.ingested.v1",
        partition=1,
        offset=7,
        key=None,
        value=value,
        headers={"event-type": b"posts.ingested", "odd": b"\xff"},
        error=ValueError("x" * 5000),
        error_category="invalid",
        service="retrieval",
        consumer_group="retrieval.posts",
        attempt=1,
        failed_at=datetime.now(UTC),
    )
    assert letter.original_payload() == value
    assert letter.original_key() is None
    assert letter.payload_size == len(value)
    assert letter.headers == {"event-type": "posts.ingested", "odd": "\\xff"}
    assert letter.error_class == "builtins.ValueError"
    assert len(letter.error_message) == 4096


def test_dead_letter_size_must_match_payload() -> None:
    data = _payload("deadletter.v1", "not-json", payload_size=3)
    with pytest.raises(ValidationError, match="payload_size"):
        DeadLetter.model_validate(data)
    data = _payload("deadletter.v1", "not-json", payload_b64=base64.b64encode(b"abc").decode()[:-1])
    with pytest.raises(ValidationError, match="payload_b64"):
        DeadLetter.model_validate(data)
