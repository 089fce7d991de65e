"""Intake with a fake store: scheduling, parking, idempotence, failures of our retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.states import Status
from tests.unit.dlq.letters import POSTS, T0, dead_letter, retry_failed
from tests.unit.dlq.wiring import Rig

pytestmark = pytest.mark.unit


def _only(rig: Rig):  # type: ignore[no-untyped-def]
    (row,) = rig.store.rows.values()
    return row.summary


async def test_retryable_letter_is_pending_after_the_base_delay() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    entry = _only(rig)
    assert entry.status is Status.PENDING
    assert entry.next_retry_at == T0 + timedelta(seconds=60)
    assert (entry.attempt, entry.max_attempts, entry.deliveries) == (1, 3, 1)
    assert rig.metric("tgi_dlq_intake_total", topic=POSTS, outcome="pending") == 1


async def test_jitter_comes_from_the_injected_source() -> None:
    rig = Rig(rand=0.5, policy=RetryPolicy(base_s=60, max_attempts=3, jitter=0.5))
    await rig.intake.accept([dead_letter()])
    assert _only(rig).next_retry_at == T0 + timedelta(seconds=75)


async def test_poison_is_parked_at_once() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter(category="invalid")])
    entry = _only(rig)
    assert (entry.status, entry.next_retry_at) == (Status.PARKED, None)
    assert rig.metric("tgi_dlq_parked_total", topic=POSTS, reason="poison") == 1


async def test_letter_for_a_topic_the_dlq_may_not_write_is_parked() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter(topic="deadletter.v1")])
    entry = _only(rig)
    assert entry.status is Status.PARKED
    assert "dead letter of a dead letter" in (entry.status_reason or "")


async def test_redelivered_letter_is_stored_once() -> None:
    rig = Rig()
    letter = dead_letter()
    await rig.intake.accept([letter, letter])
    # a re-produced dead letter of the same failed record (new event id) is the same entry
    await rig.intake.accept([dead_letter()])
    assert len(rig.store.rows) == 1
    assert rig.metric("tgi_dlq_intake_total", topic=POSTS, outcome="duplicate") == 2


async def test_same_record_failing_in_two_groups_makes_two_entries() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter(group="u.a"), dead_letter(group="u.b")])
    assert len(rig.store.rows) == 2


async def _fail_retry(rig: Rig, offset: int, category: str = "retryable") -> None:
    """Lease the due entry, 'publish' it, and report that delivery failing."""
    await rig.scheduler.run_once()
    _lease, headers = rig.publisher.sent[-1]
    await rig.intake.accept(
        [retry_failed(headers, offset=offset, failed_at=rig.clock.now(), category=category)]
    )


async def test_failures_of_retries_walk_the_backoff_to_a_permanent_failure() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    rig.at(T0 + timedelta(seconds=60))
    await _fail_retry(rig, offset=10)
    entry = _only(rig)
    assert (entry.status, entry.attempt, entry.deliveries) == (Status.PENDING, 2, 2)
    assert entry.next_retry_at == rig.clock.now() + timedelta(seconds=120)
    assert rig.episodes.permanent == []
    rig.at(entry.next_retry_at)
    await _fail_retry(rig, offset=11)
    entry = _only(rig)
    assert (entry.status, entry.attempt, entry.next_retry_at) == (
        Status.FAILED_PERMANENTLY,
        3,
        None,
    )
    assert [e.id for e, _ in rig.episodes.permanent] == [entry.id]
    assert rig.metric("tgi_dlq_permanent_failures_total", topic=POSTS) == 1
    # the headers of the two retries said which delivery they were
    assert [h["attempt"] for _, h in rig.publisher.sent] == ["2", "3"]


async def test_a_duplicate_or_stale_failure_counts_nothing() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    rig.at(T0 + timedelta(seconds=60))
    await rig.scheduler.run_once()
    _, headers = rig.publisher.sent[-1]
    failure = retry_failed(headers, offset=10, failed_at=rig.clock.now())
    await rig.intake.accept([failure])
    await rig.intake.accept([failure])  # redelivered
    stale = dict(headers, **{"dlq-delivery-id": "00000000-0000-4000-8000-000000000000"})
    await rig.intake.accept([retry_failed(stale, offset=12, failed_at=rig.clock.now())])
    assert _only(rig).attempt == 2
    assert rig.metric("tgi_dlq_intake_total", topic=POSTS, outcome="stale") == 2


async def test_a_retry_refused_as_invalid_is_parked() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    rig.at(T0 + timedelta(seconds=60))
    await _fail_retry(rig, offset=10, category="invalid")
    assert _only(rig).status is Status.PARKED


async def test_failure_naming_an_unknown_entry_becomes_a_new_entry() -> None:
    rig = Rig()
    headers = {"attempt": "2", "dlq-entry-id": "01939000-0000-7000-8000-000000000000"}
    await rig.intake.accept([retry_failed(headers, offset=5)])
    entry = _only(rig)
    assert entry.status is Status.PENDING
    assert entry.deliveries == 2
    row = next(iter(rig.store.rows.values()))
    assert "dlq-entry-id" not in row.headers  # control headers are not kept


async def test_one_attempt_budget_fails_permanently_at_intake_and_says_so() -> None:
    rig = Rig(policy=RetryPolicy(base_s=60, max_attempts=1))
    await rig.intake.accept([dead_letter()])
    assert _only(rig).status is Status.FAILED_PERMANENTLY
    assert len(rig.episodes.permanent) == 1


async def test_lifecycle_publish_failure_rolls_back_and_is_retried() -> None:
    rig = Rig(policy=RetryPolicy(base_s=60, max_attempts=1))
    rig.episodes.failures = 2
    await rig.intake.accept([dead_letter()])
    assert _only(rig).status is Status.FAILED_PERMANENTLY
    assert len(rig.episodes.permanent) == 1


async def test_intake_waits_for_the_store_instead_of_failing() -> None:
    rig = Rig()
    rig.store.unavailable = 3
    await rig.intake.accept([dead_letter()])
    assert len(rig.store.rows) == 1
