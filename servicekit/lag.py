"""Consumer lag per topic, sampled from the broker: what a group still has to process.

Lag of one partition is its end offset (the next offset the broker will assign) minus the
group's committed offset; a partition with no commit yet counts from its beginning offset,
since every consumer of the runtime starts at ``earliest``. Because the runtime commits only
after a message was handled (or dead-lettered), the number is "messages not yet done", not
"messages not yet fetched". Each instance reports the partitions assigned to it, so the sum
over instances of a group is the group's lag (``sum by (topic)`` in PromQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Gauge

from servicekit.logging import get_logger

_log = get_logger(__name__)

DEFAULT_INTERVAL_S = 15.0


class LagSampler:
    """Refreshes ``gauge{topic}`` from the running subscribers every ``interval_s``.

    ``topics`` maps each physical topic this service consumes in a group to the logical name
    used as the label; subscribers of other topics (request/reply inboxes, which have no
    consumer group) are ignored.
    """

    def __init__(
        self,
        gauge: Gauge,
        subscribers: Iterable[Any],
        topics: Mapping[str, str],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self._gauge = gauge
        self._subscribers = list(subscribers)
        self._topics = dict(topics)
        self._interval_s = interval_s

    async def sample(self) -> dict[str, int]:
        """Read every assigned partition's lag once, set the gauge, return lag per topic."""
        lag = dict.fromkeys(self._topics.values(), 0)
        for sub in self._subscribers:
            consumer = getattr(sub, "consumer", None)
            if consumer is None or not getattr(sub, "group_id", None):
                continue
            partitions = [tp for tp in consumer.assignment() if tp.topic in self._topics]
            if not partitions:
                continue
            ends = await consumer.end_offsets(partitions)
            starts: dict[Any, int] | None = None
            for tp in partitions:
                committed = await consumer.committed(tp)
                if committed is None:
                    if starts is None:
                        starts = await consumer.beginning_offsets(partitions)
                    committed = starts[tp]
                lag[self._topics[tp.topic]] += max(0, ends[tp] - committed)
        for topic, value in lag.items():
            self._gauge.labels(topic=topic).set(value)
        return lag

    async def run(self) -> None:
        """Sample until cancelled; a failed sample is logged and the gauge keeps its value."""
        while True:
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("consumer_lag_sample_failed", error=repr(exc)[:200])
            await asyncio.sleep(self._interval_s)
