"""The schedule loop: every ``interval_s``, fire the schedules whose slot has come.

One tick is one claim (``ScheduleStore.claim_due``): the due schedules are locked, one
``digest.requested.v1`` per schedule is published and acknowledged, the published ones move
to their next slot, and the claim commits. Why this gives one digest per slot:

- two replicas never fire one schedule at once: the second claim skips the locked rows, and
  once the first commits they are no longer due;
- a crash after the publish and before the commit loses nothing: the rows are still due and
  the next tick (of any replica) publishes the same slot again, with the same event id and
  run id (both derive from schedule id and slot only). The digest service runs a run id once:
  a finished run's stored result is re-published, a running one resumes;
- a publish that fails or times out leaves that schedule due; it is retried next tick.

Slots missed while no replica ran (or while a schedule failed to publish) are not run one
by one: the latest passed slot is, once, and the others are counted in
``digest_schedule_slots_missed_total``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.digest.errors import StoreUnavailable
from services.digest.metrics import ScheduleMetrics
from services.digest.ports import DigestRequests, ScheduleStore
from services.digest.schedules.model import Firing, Schedule, fire

_log = get_logger(__name__)


@dataclass(frozen=True)
class LoopParams:
    """How often and how much: a tick every ``interval_s``, at most ``batch_size`` schedules
    per claim, each publish bounded by ``publish_timeout_s``."""

    interval_s: float = 30.0
    batch_size: int = 100
    publish_timeout_s: float = 10.0

    @property
    def hold_s(self) -> float:
        """How long a claim may keep its rows locked: the publishes plus a margin."""
        return 3 * self.publish_timeout_s + 30.0


class ScheduleLoop:
    """Fires due schedules; run one per replica (``kit.run_in_background``)."""

    def __init__(
        self,
        store: ScheduleStore,
        requests: DigestRequests,
        metrics: ScheduleMetrics,
        clock: Clock,
        params: LoopParams,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._requests = requests
        self._metrics = metrics
        self._clock = clock
        self._params = params
        self._sleep = sleep

    async def run(self) -> None:
        """Forever: a tick, then a pause unless the claim was full. A Postgres outage is
        logged and waited out; anything else reaches the kit's supervisor (``/ready``
        reports it, the loop restarts)."""
        while True:
            full = False
            try:
                full = await self.run_once() >= self._params.batch_size
            except StoreUnavailable as exc:
                _log.warning("schedule_store_unavailable", error=str(exc))
            if not full:
                await self._sleep(self._params.interval_s)

    async def run_once(self) -> int:
        """One claim: fire what is due now; return how many schedules were claimed."""
        now = self._clock.now()
        fired: list[tuple[Schedule, Firing]] = []
        async with self._store.claim_due(
            now, limit=self._params.batch_size, hold_s=self._params.hold_s
        ) as due:
            claimed = len(due.schedules)
            if claimed:
                self._metrics.due.inc(claimed)
            results = await asyncio.gather(*(self._fire(s, now) for s in due.schedules))
            for schedule, firing in zip(due.schedules, results, strict=True):
                if firing is not None:
                    await due.advance(schedule, firing)
                    fired.append((schedule, firing))
        for schedule, firing in fired:  # committed: count and say so
            self._metrics.fired.labels(schedule.kind).inc()
            self._metrics.missed.inc(firing.missed)
            _log.info(
                "schedule_fired",
                schedule_id=schedule.schedule_id,
                tenant_id=schedule.tenant_id,
                run_id=firing.run_id,
                missed=firing.missed,
                next_due_at=firing.next_due_at.isoformat(),
            )
        await self.refresh_lag()
        return claimed

    async def refresh_lag(self) -> float:
        """Set ``digest_schedule_lag_seconds`` from the table; return it."""
        now = self._clock.now()
        oldest = await self._store.oldest_due(now)
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        self._metrics.lag.set(lag)
        return lag

    async def _fire(self, schedule: Schedule, now: datetime) -> Firing | None:
        """Publish the schedule's request; None (counted, logged) when that failed."""
        try:
            firing = fire(schedule, now)
            await self._requests.request(
                schedule.tenant_id,
                firing.command,
                event_id=firing.event_id,
                occurred_at=firing.slot,
            )
        except Exception as exc:
            self._metrics.publish_failures.inc()
            _log.warning(
                "schedule_publish_failed",
                schedule_id=schedule.schedule_id,
                tenant_id=schedule.tenant_id,
                error=repr(exc)[:300],
            )
            return None
        return firing
