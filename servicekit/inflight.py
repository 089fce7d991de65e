"""Several polls of one consumer in flight at once, committed in order.

FastStream runs a subscriber's handler one poll at a time: the next poll is fetched only after
the handler returned. For request/reply topics that is a queue in front of every request: a
request arriving while a poll is being answered waits for the whole poll, then for its own.
:class:`InFlight` lets the handler return as soon as the poll is *started*, so the next poll is
fetched and answered alongside, up to ``limit`` polls at a time.

What stays true (the guarantees of :mod:`servicekit.consumer`):

- an offset is committed only when its poll **and every poll before it** finished; commits
  name explicit offsets per partition (a plain ``commit()`` would commit the positions of polls
  still being processed);
- a poll that could not be settled (its dead letter could not be published) rewinds every
  partition to the earliest record not yet committed, once the polls around it finished; the
  polls after it are processed again (at least once, never skipped);
- :meth:`drain` waits for the polls in flight and commits them (shutdown calls it before the
  broker stops, so their answers are still published).

Processing order across polls is not kept; use ``limit`` 1 (the default everywhere) for topics
whose handlers depend on order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from servicekit.logging import get_logger

_log = get_logger(__name__)


class OffsetCommitter(Protocol):
    """What :class:`InFlight` needs of the Kafka consumer (``AIOKafkaConsumer`` has it)."""

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...

    def seek(self, partition: TopicPartition, offset: int) -> None: ...


@dataclass
class _Poll:
    first: dict[TopicPartition, int]
    next: dict[TopicPartition, int]
    task: asyncio.Task[None] | None = None
    ok: bool | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class InFlight:
    """Up to ``limit`` polls processed at once; offsets committed in poll order."""

    def __init__(self, limit: int, *, name: str) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._name = name
        self._polls: deque[_Poll] = deque()
        self._settling = asyncio.Lock()
        self._failed = False

    @property
    def pending(self) -> int:
        """Polls started and not yet committed."""
        return len(self._polls)

    async def submit(
        self,
        consumer: OffsetCommitter,
        records: Sequence[ConsumerRecord[Any, Any]],
        process: Callable[[], Awaitable[bool]],
    ) -> None:
        """Start ``process`` for the poll of ``records``; return once it runs, after waiting
        for the oldest poll when ``limit`` are already in flight. ``process`` returns False
        when the poll must be consumed again (the caller's ``nack``)."""
        poll = _Poll(first={}, next={})
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            poll.first[tp] = min(poll.first.get(tp, r.offset), r.offset)
            poll.next[tp] = max(poll.next.get(tp, 0), r.offset + 1)
        while True:
            if self._failed:
                # A poll failed and will be consumed again: nothing after it may be committed
                # first, so this poll joins the rewind instead of being processed.
                poll.ok = False
                poll.done.set()
                self._polls.append(poll)
                await self.drain(consumer)
                return
            if len(self._polls) < self.limit:
                break
            await self._polls[0].done.wait()
            await self._settle(consumer)
        self._polls.append(poll)

        async def run() -> None:
            try:
                poll.ok = await process()
            except asyncio.CancelledError:
                poll.ok = False
                raise
            except Exception:
                _log.exception("inflight_poll_failed", consumer=self._name)
                poll.ok = False
            finally:
                if not poll.ok:
                    self._failed = True
                poll.done.set()
                await self._settle(consumer)

        poll.task = asyncio.create_task(run(), name=f"inflight-{self._name}")

    async def drain(self, consumer: OffsetCommitter | None) -> None:
        """Wait for every poll in flight, then commit (or rewind) them."""
        while self._polls:
            await asyncio.gather(
                *(p.task for p in list(self._polls) if p.task), return_exceptions=True
            )
            if consumer is None:
                self._polls.clear()
                return
            await self._settle(consumer)

    async def _settle(self, consumer: OffsetCommitter) -> None:
        """Commit the finished prefix of polls; on a failed one, rewind once all finished."""
        async with self._settling:
            offsets: dict[TopicPartition, int] = {}
            while self._polls and self._polls[0].done.is_set() and self._polls[0].ok:
                offsets.update(self._polls.popleft().next)
            if offsets:
                try:
                    await consumer.commit(offsets)
                except (KafkaError, AssertionError, RuntimeError) as exc:
                    # A rebalance took a partition away (its new owner consumes from the last
                    # commit, so those records are answered again), or the consumer closed.
                    _log.warning("inflight_commit_failed", consumer=self._name, error=repr(exc))
            if self._polls and self._polls[0].done.is_set() and not self._polls[0].ok:
                if not all(p.done.is_set() for p in self._polls):
                    return  # the last poll to finish rewinds
                rewind: dict[TopicPartition, int] = {}
                for p in self._polls:
                    for tp, offset in p.first.items():
                        rewind[tp] = min(rewind.get(tp, offset), offset)
                self._polls.clear()
                self._failed = False
                for tp, offset in rewind.items():
                    try:
                        consumer.seek(tp, offset)
                    except (KafkaError, AssertionError) as exc:
                        _log.warning("inflight_rewind_failed", consumer=self._name, error=repr(exc))
                _log.warning("inflight_rewound", consumer=self._name, partitions=len(rewind))
