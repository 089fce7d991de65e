"""One behaviour suite for the entry store, run against the fake and against Postgres.

Importing modules provide a ``stores`` fixture returning :class:`Stores`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest

from contracts.envelope import new_event_id
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.intake import FailureReport, NewEntry, new_entry
from services.dlq.domain.routing import retry_headers
from services.dlq.domain.states import Status
from services.dlq.ports import (
    EntryQuery,
    EntrySummary,
    Lease,
    OperatorStore,
    RepeatOutcome,
    RetryStore,
)
from tests.unit.dlq.letters import POSTS, T0, dead_letter, retry_failed

PREFIX = "u."
POLICY = RetryPolicy(base_s=60, max_attempts=3)


@dataclass
class Stores:
    retry: RetryStore
    ops: OperatorStore


async def _nothing(_: Sequence[EntrySummary]) -> None:
    return None


def _new(**kw: object) -> NewEntry:
    report = FailureReport.from_envelope(dead_letter(prefix=PREFIX, **kw))  # type: ignore[arg-type]
    return new_entry(
        report, entry_id=new_event_id(), policy=POLICY, prefix=PREFIX, rand=0.0, now=T0
    )


async def _seed(stores: Stores, n: int, **kw: object) -> list[EntrySummary]:
    entries = [_new(offset=i, **kw) for i in range(n)]
    return await stores.retry.insert_new(entries, _nothing)


DUE = T0 + timedelta(seconds=60)


async def test_insert_is_idempotent_on_the_origin(stores: Stores) -> None:
    first = await stores.retry.insert_new(
        [_new(offset=1), _new(offset=1), _new(offset=2)], _nothing
    )
    assert len(first) == 2
    again = await stores.retry.insert_new([_new(offset=1)], _nothing)
    assert again == []
    other_group = await stores.retry.insert_new([_new(offset=1, group="u.other")], _nothing)
    assert len(other_group) == 1


async def test_insert_rolls_back_when_before_commit_raises(stores: Stores) -> None:
    async def boom(_: Sequence[EntrySummary]) -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await stores.retry.insert_new([_new(offset=1)], boom)
    assert await stores.ops.query(EntryQuery()) == []


async def test_entry_keeps_the_original_record(stores: Stores) -> None:
    letter = dead_letter(prefix=PREFIX, key=b"k", offset=7)
    report = FailureReport.from_envelope(letter)
    entry = new_entry(report, entry_id=new_event_id(), policy=POLICY, prefix=PREFIX, rand=0, now=T0)
    (summary,) = await stores.retry.insert_new([entry], _nothing)
    got = await stores.ops.get(summary.id)
    assert got is not None
    assert got.payload == letter.payload.original_payload()
    assert got.key == b"k"
    assert got.headers == letter.payload.headers
    s = got.summary
    assert (s.status, s.original_offset, s.tenant_id, s.next_retry_at) == (
        Status.PENDING,
        7,
        "acme",
        DUE,
    )
    assert s.dead_letter_id == letter.event_id


async def test_lease_takes_only_due_entries_earliest_first(stores: Stores) -> None:
    early = await _seed(stores, 1, failed_at=T0)
    late = await stores.retry.insert_new(
        [_new(offset=9, failed_at=T0 + timedelta(seconds=5))], _nothing
    )
    assert (
        await stores.retry.lease_due(
            owner="a", now=DUE - timedelta(seconds=1), lease_s=30, limit=10
        )
        == []
    )
    leases = await stores.retry.lease_due(
        owner="a", now=DUE + timedelta(seconds=10), lease_s=30, limit=10
    )
    assert [lease.entry_id for lease in leases] == [early[0].id, late[0].id]
    assert all(lease.delivery == 2 and not lease.taken_over for lease in leases)
    # leased: not due again while the lease runs
    assert (
        await stores.retry.lease_due(
            owner="b", now=DUE + timedelta(seconds=39), lease_s=30, limit=10
        )
        == []
    )


async def test_lease_takes_only_entries_of_this_deployment(stores: Stores) -> None:
    await _seed(stores, 2)
    assert (
        await stores.retry.lease_due(
            owner="a", now=DUE, lease_s=30, limit=10, topic_prefix="other."
        )
        == []
    )
    assert (
        len(
            await stores.retry.lease_due(
                owner="a", now=DUE, lease_s=30, limit=10, topic_prefix=PREFIX
            )
        )
        == 2
    )


async def test_concurrent_leases_never_overlap(stores: Stores) -> None:
    await _seed(stores, 300)
    batches = await asyncio.gather(
        *(stores.retry.lease_due(owner=f"o{i}", now=DUE, lease_s=30, limit=40) for i in range(10))
    )
    ids = [lease.entry_id for batch in batches for lease in batch]
    assert len(ids) == len(set(ids)) == 300


async def test_confirmed_publication_waits_for_the_outcome(stores: Stores) -> None:
    (entry,) = await _seed(stores, 1)
    (lease,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=10)
    confirmed, taken = await stores.retry.confirm_published([lease], DUE)
    assert (confirmed, taken) == ({entry.id}, set())
    (after,) = await stores.ops.query(EntryQuery())
    assert (after.status, after.next_retry_at, after.lease_owner, after.deliveries) == (
        Status.RETRYING,
        None,
        None,
        2,
    )
    assert (
        await stores.retry.lease_due(owner="a", now=DUE + timedelta(days=9), lease_s=30, limit=9)
        == []
    )


async def test_expired_lease_is_taken_over_and_the_old_owner_cannot_confirm(stores: Stores) -> None:
    await _seed(stores, 1)
    (old,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=10)
    (new,) = await stores.retry.lease_due(
        owner="b", now=DUE + timedelta(seconds=30), lease_s=30, limit=10
    )
    assert new.taken_over
    assert new.token != old.token
    assert new.delivery == old.delivery
    confirmed, taken = await stores.retry.confirm_published([old], DUE + timedelta(seconds=31))
    assert confirmed == set()
    assert taken == {old.entry_id}
    assert await stores.retry.release(old, DUE, DUE) is False
    confirmed, _ = await stores.retry.confirm_published([new], DUE + timedelta(seconds=31))
    assert confirmed == {new.entry_id}


async def test_release_reschedules_without_counting(stores: Stores) -> None:
    await _seed(stores, 1)
    (lease,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=10)
    later = DUE + timedelta(seconds=5)
    assert await stores.retry.release(lease, later, DUE) is True
    (after,) = await stores.ops.query(EntryQuery())
    assert (after.status, after.next_retry_at, after.attempt, after.deliveries) == (
        Status.PENDING,
        later,
        1,
        1,
    )


def _failure(lease: Lease, offset: int, **kw: object) -> FailureReport:
    headers = retry_headers(
        lease.headers,
        delivery=lease.delivery,
        group=lease.group,
        entry_id=lease.entry_id,
        token=lease.token,
    )
    return FailureReport.from_envelope(retry_failed(headers, prefix=PREFIX, offset=offset, **kw))  # type: ignore[arg-type]


async def test_failure_of_the_awaited_delivery_moves_the_entry_once(stores: Stores) -> None:
    await _seed(stores, 1)
    (lease,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=10)
    await stores.retry.confirm_published([lease], DUE)
    report = _failure(lease, offset=50, failed_at=DUE)
    decided: list[int] = []

    def decide(failures: int):  # type: ignore[no-untyped-def]
        decided.append(failures)
        return report.transition(failures, POLICY, PREFIX, 0.0)

    result = await stores.retry.record_repeat_failure(report, decide, DUE, _nothing)
    assert result.outcome is RepeatOutcome.APPLIED
    assert decided == [2]
    assert result.entry is not None
    assert (result.entry.status, result.entry.attempt, result.entry.next_retry_at) == (
        Status.PENDING,
        2,
        DUE + timedelta(seconds=120),
    )
    again = await stores.retry.record_repeat_failure(report, decide, DUE, _nothing)
    assert again.outcome is RepeatOutcome.STALE
    assert decided == [2]


async def test_failure_arriving_before_the_confirm_still_counts(stores: Stores) -> None:
    await _seed(stores, 1)
    (lease,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=10)
    report = _failure(lease, offset=50, failed_at=DUE)
    result = await stores.retry.record_repeat_failure(
        report, lambda n: report.transition(n, POLICY, PREFIX, 0.0), DUE, _nothing
    )
    assert result.outcome is RepeatOutcome.APPLIED
    _confirmed, taken = await stores.retry.confirm_published([lease], DUE)
    assert taken == set()
    (after,) = await stores.ops.query(EntryQuery())
    # the confirmation recorded the delivery but did not undo the new schedule
    assert (after.status, after.next_retry_at, after.deliveries) == (
        Status.PENDING,
        DUE + timedelta(seconds=120),
        2,
    )


async def test_failure_rolls_back_when_before_commit_raises(stores: Stores) -> None:
    await _seed(stores, 1)
    (lease,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=10)
    report = _failure(lease, offset=50, failed_at=DUE)

    async def boom(_: Sequence[EntrySummary]) -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await stores.retry.record_repeat_failure(
            report, lambda n: report.transition(n, POLICY, PREFIX, 0.0), DUE, boom
        )
    (after,) = await stores.ops.query(EntryQuery())
    assert (after.status, after.attempt) == (Status.RETRYING, 1)


async def test_failure_naming_no_entry_is_missing(stores: Stores) -> None:
    headers = {"attempt": "2", "dlq-entry-id": "01939000-0000-7000-8000-000000000000"}
    report = FailureReport.from_envelope(retry_failed(headers, prefix=PREFIX, offset=1))
    result = await stores.retry.record_repeat_failure(
        report, lambda n: report.transition(n, POLICY, PREFIX, 0.0), DUE, _nothing
    )
    assert result.outcome is RepeatOutcome.MISSING


async def test_resolve_closes_open_parked_and_failed_entries_only(stores: Stores) -> None:
    pending, parked = (
        await _seed(stores, 1),
        await _seed(stores, 1, category="invalid", group="u.g"),
    )
    ids = [pending[0].id, parked[0].id, "01939000-0000-7000-8000-000000000000"]
    resolved = await stores.retry.resolve(ids, DUE)
    assert sorted(e.id for e in resolved) == sorted(ids[:2])
    assert await stores.retry.resolve(ids, DUE) == []
    await stores.ops.apply(
        "purge", ids=[pending[0].id], now=DUE, policy=POLICY, prefix=PREFIX, reason="x"
    )
    assert await stores.retry.resolve([pending[0].id], DUE) == []


async def test_operator_replay_gives_a_fresh_budget_due_now(stores: Stores) -> None:
    (entry,) = await _seed(stores, 1, category="invalid")
    out = await stores.ops.apply(
        "replay", ids=[entry.id], now=DUE, policy=POLICY, prefix=PREFIX, reason="r"
    )
    (after,) = out.changed
    assert (
        after.status,
        after.attempt,
        after.replays,
        after.next_retry_at,
        after.status_reason,
    ) == (
        Status.PENDING,
        0,
        1,
        DUE,
        "r",
    )
    (lease,) = await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=1)
    assert lease.entry_id == entry.id


async def test_operator_actions_skip_what_they_do_not_apply_to(stores: Stores) -> None:
    a, b = await _seed(stores, 2)
    (leased,) = await stores.retry.lease_due(owner="x", now=DUE, lease_s=30, limit=1)
    missing = "01939000-0000-7000-8000-000000000000"
    out = await stores.ops.apply(
        "park", ids=[a.id, b.id, missing], now=DUE, policy=POLICY, prefix=PREFIX, reason=""
    )
    assert [s.id for s in out.skipped if s.status is None] == [missing]
    held = [s for s in out.skipped if s.status is Status.RETRYING]
    assert [s.id for s in held] == [leased.entry_id]
    assert len(out.changed) == 1
    out = await stores.ops.apply(
        "park", ids=[out.changed[0].id], now=DUE, policy=POLICY, prefix=PREFIX, reason=""
    )
    assert out.changed == []
    assert "parked" in out.skipped[0].reason


async def test_purge_drops_the_bytes(stores: Stores) -> None:
    (entry,) = await _seed(stores, 1)
    await stores.ops.apply(
        "purge", ids=[entry.id], now=DUE, policy=POLICY, prefix=PREFIX, reason="gdpr"
    )
    got = await stores.ops.get(entry.id)
    assert got is not None
    assert (got.payload, got.key, got.headers, got.summary.status) == (b"", None, {}, Status.PURGED)
    assert await stores.retry.lease_due(owner="a", now=DUE, lease_s=30, limit=5) == []


async def test_action_by_filter_takes_only_applicable_entries(stores: Stores) -> None:
    await _seed(stores, 3)
    await _seed(stores, 2, category="invalid", group="u.g")
    query = EntryQuery(topics=(PREFIX + POSTS,), limit=10)
    out = await stores.ops.apply(
        "replay", query=query, now=DUE, policy=POLICY, prefix=PREFIX, reason=""
    )
    assert len(out.changed) == 5
    assert out.skipped == []
    only_resolved = EntryQuery(statuses=(Status.RESOLVED,), limit=10)
    out = await stores.ops.apply(
        "replay", query=only_resolved, now=DUE, policy=POLICY, prefix=PREFIX, reason=""
    )
    assert out.changed == []
    limited = EntryQuery(statuses=(Status.PENDING,), limit=2)
    out = await stores.ops.apply(
        "park", query=limited, now=DUE, policy=POLICY, prefix=PREFIX, reason=""
    )
    assert len(out.changed) == 2


async def test_query_filters_and_pages_newest_first(stores: Stores) -> None:
    await _seed(stores, 5)
    await _seed(stores, 2, category="invalid", group="u.g", failed_at=T0 + timedelta(hours=1))
    everything = await stores.ops.query(EntryQuery(limit=100))
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    assert len(await stores.ops.query(EntryQuery(statuses=(Status.PARKED,)))) == 2
    assert len(await stores.ops.query(EntryQuery(consumer_group="u.g"))) == 2
    assert len(await stores.ops.query(EntryQuery(since=T0 + timedelta(minutes=30)))) == 2
    assert len(await stores.ops.query(EntryQuery(until=T0 + timedelta(minutes=30)))) == 5
    assert (
        len(await stores.ops.query(EntryQuery(error_class="servicekit.errors.RetryableError"))) == 5
    )
    assert await stores.ops.query(EntryQuery(tenant_id="nobody")) == []
    page = await stores.ops.query(EntryQuery(limit=4))
    rest = await stores.ops.query(EntryQuery(limit=4, before_id=page[-1].id))
    assert [e.id for e in page + rest] == [e.id for e in everything]


async def test_query_and_stats_can_be_limited_to_one_deployment(stores: Stores) -> None:
    await _seed(stores, 2)
    assert len(await stores.ops.query(EntryQuery(topic_prefix=PREFIX))) == 2
    assert await stores.ops.query(EntryQuery(topic_prefix="other.")) == []
    assert (await stores.ops.stats("other.")).counts == {}
    out = await stores.ops.apply(
        "park",
        query=EntryQuery(statuses=(Status.PENDING,), topic_prefix="other."),
        now=DUE,
        policy=POLICY,
        prefix=PREFIX,
        reason="",
    )
    assert out.changed == []


async def test_stats_count_by_topic_and_status(stores: Stores) -> None:
    await _seed(stores, 3)
    await _seed(stores, 1, category="invalid", group="u.g")
    stats = await stores.retry.stats()
    assert stats.counts == {(PREFIX + POSTS, Status.PENDING): 3, (PREFIX + POSTS, Status.PARKED): 1}
    assert stats.oldest_open_failed_at == T0
