"""The pure parts: backoff, states, routing, rendering."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from contracts import headers as H
from services.dlq.domain.backoff import RetryPolicy, next_retry_at, retry_delay_s
from services.dlq.domain.render import render_bytes
from services.dlq.domain.routing import (
    DELIVERY_ID,
    logical_topic,
    retry_headers,
    stored_headers,
    unroutable_reason,
)
from services.dlq.domain.states import Status, after_failure, refusal
from tests.unit.dlq.letters import T0

pytestmark = pytest.mark.unit
POLICY = RetryPolicy(base_s=60, max_attempts=3)


@pytest.mark.parametrize(("failures", "delay"), [(1, 60), (2, 120), (3, 240), (10, 30720)])
def test_delay_doubles_per_failure(failures: int, delay: float) -> None:
    assert retry_delay_s(failures, POLICY, 0.0) == delay


def test_jitter_only_delays_and_stays_within_its_fraction() -> None:
    policy = RetryPolicy(base_s=0.01, max_attempts=3, jitter=0.5)
    delays = [retry_delay_s(2, policy, r / 100) for r in range(100)]
    assert min(delays) == pytest.approx(0.02)
    assert max(delays) < 0.03
    assert len(set(delays)) == 100


def test_delay_is_capped_even_for_absurd_failure_counts() -> None:
    policy = RetryPolicy(base_s=60, max_attempts=20, jitter=1.0, max_delay_s=3600)
    assert retry_delay_s(1000, policy, 0.99) == 3600


@pytest.mark.parametrize(("failures", "rand"), [(0, 0.0), (1, 1.0), (1, -0.1)])
def test_delay_refuses_nonsense(failures: int, rand: float) -> None:
    with pytest.raises(ValueError, match="must"):
        retry_delay_s(failures, POLICY, rand)


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        RetryPolicy(base_s=0, max_attempts=3)
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(base_s=1, max_attempts=0)


def test_next_retry_counts_from_the_failure() -> None:
    assert next_retry_at(T0, 2, POLICY, 0.0) == T0 + timedelta(seconds=120)


def test_poison_is_parked_whatever_the_budget() -> None:
    move = after_failure(category="invalid", failures=1, failed_at=T0, policy=POLICY, rand=0)
    assert (move.status, move.next_retry_at) == (Status.PARKED, None)
    assert "poison" in (move.reason or "")


def test_retryable_failures_are_scheduled_until_the_budget_is_spent() -> None:
    def status(n: int) -> Status:
        kw = {"failed_at": T0, "policy": POLICY, "rand": 0.0}
        return after_failure(category="retryable", failures=n, **kw).status  # type: ignore[arg-type]

    assert [status(n) for n in (1, 2, 3, 4)] == [
        Status.PENDING,
        Status.PENDING,
        Status.FAILED_PERMANENTLY,
        Status.FAILED_PERMANENTLY,
    ]


def test_unretryable_reason_parks_a_retryable_failure() -> None:
    move = after_failure(
        category="retryable", failures=1, failed_at=T0, policy=POLICY, rand=0, unretryable="x"
    )
    assert (move.status, move.reason) == (Status.PARKED, "x")


@pytest.mark.parametrize(
    ("action", "status", "allowed"),
    [
        ("replay", Status.FAILED_PERMANENTLY, True),
        ("replay", Status.PARKED, True),
        ("replay", Status.RESOLVED, False),
        ("replay", Status.PURGED, False),
        ("park", Status.PENDING, True),
        ("park", Status.PARKED, False),
        ("park", Status.RESOLVED, False),
        ("purge", Status.RESOLVED, True),
        ("purge", Status.PURGED, False),
    ],
)
def test_operator_actions_apply_to_their_states(action: str, status: Status, allowed: bool) -> None:
    why = refusal(action, status, leased=False, truncated=False, routable=True)  # type: ignore[arg-type]
    assert (why is None) is allowed


def test_no_action_while_the_scheduler_holds_a_lease() -> None:
    why = refusal("park", Status.RETRYING, leased=True, truncated=False, routable=True)
    assert why is not None
    assert "re-published right now" in why


def test_truncated_or_unroutable_entries_cannot_be_replayed_but_can_be_purged() -> None:
    assert refusal("replay", Status.PARKED, leased=False, truncated=True, routable=True)
    assert refusal("replay", Status.PARKED, leased=False, truncated=False, routable=False)
    assert refusal("purge", Status.PARKED, leased=False, truncated=True, routable=False) is None


def test_routing_only_to_registered_topics_the_dlq_may_write() -> None:
    assert logical_topic("p.posts.ingested.v1", "p.") == "posts.ingested.v1"
    assert unroutable_reason("p.posts.ingested.v1", "p.") is None
    assert unroutable_reason("p.lifecycle.v1", "p.") is None
    assert "dead letter of a dead letter" in (unroutable_reason("p.deadletter.v1", "p.") or "")
    assert "not a registered topic" in (unroutable_reason("q.posts.ingested.v1", "p.") or "")
    assert "not a registered topic" in (unroutable_reason("p.secrets", "p.") or "")
    # the registry does not list dlq as a producer of trend announcements (nobody consumes
    # them in a group the DLQ could retry for)
    assert "does not let" in (unroutable_reason("p.trend.detected.v1", "p.") or "")


def test_retry_headers_replace_stale_control_headers_and_keep_the_rest() -> None:
    original = {
        H.EVENT_ID: "e1",
        H.TENANT_ID: "acme",
        H.ATTEMPT: "2",
        H.TARGET_CONSUMER_GROUP: "old",
        H.DLQ_ENTRY_ID: "old",
        DELIVERY_ID: "old",
    }
    out = retry_headers(original, delivery=3, group="g", entry_id="id", token="tok")
    assert out == {
        H.EVENT_ID: "e1",
        H.TENANT_ID: "acme",
        H.ATTEMPT: "3",
        H.TARGET_CONSUMER_GROUP: "g",
        H.DLQ_ENTRY_ID: "id",
        DELIVERY_ID: "tok",
    }
    assert stored_headers(original) == {H.EVENT_ID: "e1", H.TENANT_ID: "acme"}


def test_render_json_pretty_text_and_base64() -> None:
    doc = {"a": [1, 2], "текст": "да"}
    rendered = render_bytes(json.dumps(doc, ensure_ascii=False).encode())
    assert rendered["encoding"] == "json"
    assert rendered["value"] == doc
    assert rendered["pretty"] == json.dumps(doc, indent=2, ensure_ascii=False)
    assert render_bytes(b"plain words")["encoding"] == "text"
    raw = b"\xff\x00\xfe"
    assert render_bytes(raw)["value"] == base64.b64encode(raw).decode()
    assert render_bytes(None)["encoding"] == "empty"
    # not JSON by the standard, so not rendered as JSON (a response could not encode it)
    assert render_bytes(b'{"x": NaN}')["encoding"] == "text"
    assert render_bytes(b"[" * 100_000)["encoding"] == "text"
