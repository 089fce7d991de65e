"""Intake: dead letters become entries; failures of our retries move their entries on."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from contracts.envelope import Envelope, new_event_id
from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.intake import FailureReport, new_entry
from services.dlq.domain.routing import metric_topic
from services.dlq.domain.states import Status
from services.dlq.errors import EventsUnavailable
from services.dlq.metrics import DlqMetrics
from services.dlq.persist import until_stored
from services.dlq.ports import EntrySummary, Episodes, RepeatOutcome, RetryStore

_log = get_logger(__name__)


class Intake:
    """Takes in ``deadletter.v1`` envelopes (validated by the runtime).

    Guarantees: a dead letter is stored once however often it is delivered (the origin key);
    a dead letter naming one of our entries counts against that entry only when it reports
    the failure of the delivery the entry waits for; the lifecycle ``error`` of a permanent
    failure is published before the state change commits (so it is never lost, and a
    redelivery re-emits the same event id). Waits while Postgres is unavailable.
    """

    def __init__(
        self,
        store: RetryStore,
        episodes: Episodes,
        metrics: DlqMetrics,
        *,
        policy: RetryPolicy,
        prefix: str,
        clock: Clock,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._episodes = episodes
        self._metrics = metrics
        self._policy = policy
        self._prefix = prefix
        self._clock = clock
        self._rand = rand

    async def accept(self, envelopes: Sequence[Envelope[Any]]) -> None:
        """Store or apply every dead letter of ``envelopes``; idempotent per envelope."""
        fresh: list[tuple[FailureReport, Envelope[Any]]] = []
        for envelope in envelopes:
            report = FailureReport.from_envelope(envelope)
            if report.entry_id is None:
                fresh.append((report, envelope))
                continue
            outcome = await until_stored(partial(self._repeat, report, envelope), _log)
            if outcome is RepeatOutcome.MISSING:
                fresh.append((report, envelope))
        if fresh:
            await until_stored(lambda: self._insert(fresh), _log)

    async def _insert(self, items: list[tuple[FailureReport, Envelope[Any]]]) -> None:
        now = self._clock.now()
        entries = [
            new_entry(
                report,
                entry_id=new_event_id(),
                policy=self._policy,
                prefix=self._prefix,
                rand=self._rand(),
                now=now,
            )
            for report, _ in items
        ]
        causes = {new.id: envelope for new, (_, envelope) in zip(entries, items, strict=True)}

        async def before_commit(inserted: Sequence[EntrySummary]) -> None:
            for summary in inserted:
                if summary.status is Status.FAILED_PERMANENTLY:
                    await self._permanent(summary, causes[summary.id])

        inserted = await self._store.insert_new(entries, before_commit)
        for summary in inserted:
            self._count(summary, summary.status.value)
        stored = {e.id for e in inserted}
        for new in entries:
            if new.id not in stored:
                topic = metric_topic(new.report.letter.original_topic, self._prefix)
                self._metrics.intake.labels(topic=topic, outcome="duplicate").inc()

    async def _repeat(self, report: FailureReport, envelope: Envelope[Any]) -> RepeatOutcome:
        rand = self._rand()

        async def before_commit(changed: Sequence[EntrySummary]) -> None:
            for summary in changed:
                if summary.status is Status.FAILED_PERMANENTLY:
                    await self._permanent(summary, envelope)

        result = await self._store.record_repeat_failure(
            report,
            lambda failures: report.transition(failures, self._policy, self._prefix, rand),
            self._clock.now(),
            before_commit,
        )
        topic = metric_topic(report.letter.original_topic, self._prefix)
        if result.outcome is RepeatOutcome.STALE:
            self._metrics.intake.labels(topic=topic, outcome="stale").inc()
            _log.info("stale_failure_ignored", dlq_entry_id=report.entry_id)
        elif result.entry is not None:
            self._metrics.intake.labels(topic=topic, outcome="repeat_failure").inc()
            self._count(result.entry, None)
        return result.outcome

    async def _permanent(self, entry: EntrySummary, cause: Envelope[Any]) -> None:
        try:
            await self._episodes.permanent_failure(entry, cause)
        except Exception as exc:  # rolls the change back; the whole step is tried again
            raise EventsUnavailable(f"lifecycle error not published: {exc!r}"[:300]) from exc

    def _count(self, entry: EntrySummary, outcome: str | None) -> None:
        topic = metric_topic(entry.original_topic, self._prefix)
        if outcome is not None:
            self._metrics.intake.labels(topic=topic, outcome=outcome).inc()
        if entry.status is Status.PARKED:
            reason = "poison" if entry.error_category == "invalid" else "unroutable"
            self._metrics.parked.labels(topic=topic, reason=reason).inc()
        elif entry.status is Status.FAILED_PERMANENTLY:
            self._metrics.permanent_failures.labels(topic=topic).inc()
        _log.info(
            "dead_letter_recorded",
            dlq_entry_id=entry.id,
            status=entry.status.value,
            attempt=entry.attempt,
            next_retry_at=entry.next_retry_at.isoformat() if entry.next_retry_at else None,
        )
