"""Resolution: a retry processed successfully closes its entry."""

from __future__ import annotations

from collections.abc import Sequence

from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.dlq.domain.resolution import resolved_entry_id
from services.dlq.domain.routing import metric_topic
from services.dlq.metrics import DlqMetrics
from services.dlq.persist import until_stored
from services.dlq.ports import RetryStore

_log = get_logger(__name__)


class Resolution:
    """Marks entries resolved from raw ``lifecycle.v1`` records."""

    def __init__(self, store: RetryStore, metrics: DlqMetrics, *, prefix: str, clock: Clock):
        self._store = store
        self._metrics = metrics
        self._prefix = prefix
        self._clock = clock

    async def accept(self, values: Sequence[bytes | None]) -> None:
        """Resolve the entries the records report as processed. Idempotent (resolving twice
        is a no-op); every other record costs a substring search; waits while Postgres is
        away, so it returns only once the resolutions are stored."""
        ids = sorted({i for i in (resolved_entry_id(v) for v in values) if i is not None})
        self._metrics.lifecycle_seen.labels(outcome="ignored").inc(len(values) - len(ids))
        if not ids:
            return
        self._metrics.lifecycle_seen.labels(outcome="resolution").inc(len(ids))
        resolved = await until_stored(lambda: self._store.resolve(ids, self._clock.now()), _log)
        for entry in resolved:
            topic = metric_topic(entry.original_topic, self._prefix)
            self._metrics.resolved.labels(topic=topic).inc()
            _log.info("dlq_entry_resolved", dlq_entry_id=entry.id, deliveries=entry.deliveries)
