"""The scheduler: lease due entries, re-publish them, confirm; refresh the gauges.

What "once" means. Leasing (``FOR UPDATE SKIP LOCKED`` and a conditional update in one
transaction) gives each due entry to one scheduler at a time, and a lease outlives the
bounded publish it covers (``lease_s >= 2 · publish_timeout_s``), so two healthy replicas
never publish the same delivery. A scheduler that dies (SIGKILL) between lease and publish
leaves a lease that expires after ``lease_s``; the entry is then due again and published once
by whichever replica takes it. The one window that yields a duplicate is a death after the
broker acknowledged the publish and before the confirm committed: the retry is published
again after the lease expires, with the same ``attempt`` header (the delivery count only moves
at confirmation). Delivery is therefore at least once; consumers are idempotent per event id,
and the DLQ counts only the failure of the delivery it waits for (``dlq-delivery-id``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.dlq.domain.routing import metric_topic, retry_headers
from services.dlq.errors import Transient
from services.dlq.metrics import DlqMetrics
from services.dlq.ports import Lease, RetryPublisher, RetryStore, Stats

_log = get_logger(__name__)


class Scheduler:
    """Re-publishes due entries of the shared table; run one per replica."""

    def __init__(
        self,
        store: RetryStore,
        publisher: RetryPublisher,
        metrics: DlqMetrics,
        *,
        owner: str,
        prefix: str,
        clock: Clock,
        poll_interval_s: float,
        batch_size: int,
        lease_s: float,
        publish_retry_s: float,
        stats_interval_s: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._metrics = metrics
        self._owner = owner
        self._prefix = prefix
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._lease_s = lease_s
        self._publish_retry_s = publish_retry_s
        self._stats_interval_s = stats_interval_s
        self._sleep = sleep

    async def run(self) -> None:
        """Forever: a batch, then a pause unless the batch was full; gauges now and then.
        A Postgres outage is logged and waited out; anything else propagates to the runtime's
        supervisor, which reports it on ``/ready`` and restarts the loop."""
        next_stats = 0.0
        while True:
            full = False
            try:
                full = await self.run_once() >= self._batch_size
                if self._clock.monotonic() >= next_stats:
                    await self.refresh_stats()
                    next_stats = self._clock.monotonic() + self._stats_interval_s
            except Transient as exc:
                _log.warning("scheduler_store_unavailable", error=str(exc))
            if not full:
                await self._sleep(self._poll_interval_s)

    async def run_once(self) -> int:
        """Lease one batch of due entries, publish them, confirm; return how many were leased."""
        started = time.perf_counter()
        leases = await self._store.lease_due(
            owner=self._owner,
            now=self._clock.now(),
            lease_s=self._lease_s,
            limit=self._batch_size,
            topic_prefix=self._prefix,
        )
        if not leases:
            return 0
        takeovers = sum(1 for lease in leases if lease.taken_over)
        if takeovers:
            self._metrics.lease_conflicts.labels(kind="expired_takeover").inc(takeovers)
            _log.warning("expired_leases_taken_over", count=takeovers)
        results = await asyncio.gather(
            *(self._publish(lease) for lease in leases), return_exceptions=True
        )
        published = [lease for lease, r in zip(leases, results, strict=True) if r is None]
        failed = [(lease, r) for lease, r in zip(leases, results, strict=True) if r is not None]
        _, taken = await self._store.confirm_published(published, self._clock.now())
        if taken:
            self._metrics.lease_conflicts.labels(kind="lost_before_confirm").inc(len(taken))
            _log.error("lease_lost_before_confirm", count=len(taken), ids=sorted(taken)[:20])
        for topic, n in Counter(metric_topic(p.topic, self._prefix) for p in published).items():
            self._metrics.retries_published.labels(topic=topic).inc(n)
        for lease, error in failed:
            await self._give_back(lease, error)
        self._metrics.scheduler_batch_seconds.observe(time.perf_counter() - started)
        return len(leases)

    async def refresh_stats(self) -> Stats:
        """Set the entry gauges from the table; return what was read."""
        stats = await self._store.stats(self._prefix)
        totals: Counter[tuple[str, str]] = Counter()
        for (topic, state), n in stats.counts.items():
            totals[(metric_topic(topic, self._prefix), state.value)] += n
        gauge = self._metrics.entries
        gauge.clear()
        for (topic, status), n in totals.items():
            gauge.labels(topic=topic, status=status).set(n)
        oldest = stats.oldest_open_failed_at
        age = (self._clock.now() - oldest).total_seconds() if oldest else 0.0
        self._metrics.oldest_open_age.set(max(0.0, age))
        return stats

    async def _publish(self, lease: Lease) -> None:
        headers = retry_headers(
            lease.headers,
            delivery=lease.delivery,
            group=lease.group,
            entry_id=lease.entry_id,
            token=lease.token,
        )
        await self._publisher.publish(lease, headers)

    async def _give_back(self, lease: Lease, error: BaseException) -> None:
        self._metrics.publish_failures.labels(topic=metric_topic(lease.topic, self._prefix)).inc()
        _log.warning(
            "retry_publish_failed",
            dlq_entry_id=lease.entry_id,
            topic=lease.topic,
            error=repr(error),
        )
        now = self._clock.now()
        await self._store.release(lease, now + timedelta(seconds=self._publish_retry_s), now)
