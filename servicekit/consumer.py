"""The one consume loop every handler runs in: parse, dispatch, retry, dead-letter, then commit.

Guarantees, per message:

- the offset is committed only after the handler returned, or after the message was
  acknowledged by the broker on ``deadletter.v1``; if the process dies before that, the
  message is delivered again (at least once);
- bytes that are not a valid envelope of the topic's type and a known version, or are larger
  than ``max_message_bytes`` (or the topic's registry size, when that is larger: a dead
  letter may carry a whole original record), are dead-lettered at once as ``invalid``;
- :class:`~servicekit.errors.InvalidMessage` from a handler dead-letters at once;
  any other exception is retried ``handler_retries`` times with exponential backoff, then
  dead-lettered as ``retryable`` for the DLQ service to retry later;
- a message whose target-group header names another consumer group (a DLQ retry addressed
  to that group) is skipped;
- if the dead letter itself cannot be published, the offset is rewound and the message is
  redelivered; nothing is dropped;
- when ``dlq_limit_count`` dead letters fall within ``dlq_limit_window_s`` the consumer pauses
  for ``dlq_pause_s`` (nothing consumed or committed, ``/ready`` fails, a gauge says so)
  instead of draining a topic into the DLQ; it resumes by itself;
- a message re-published by the DLQ service (it carries ``dlq-entry-id``) that now succeeds
  emits a lifecycle ``run_completed`` naming the entry, so the DLQ marks it resolved;
- a consumer of ``lifecycle.v1`` itself emits no ``retry``/``error`` lifecycle events about
  what it consumes: they would land on its own input and breed more while it fails;
- with ``in_flight`` > 1 several polls are processed at once and the offsets above still hold
  per poll: each is committed only behind every earlier poll (:mod:`servicekit.inflight`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka import KafkaMessage

from contracts import headers as H
from contracts.envelope import Envelope
from contracts.errors import ContractError
from contracts.registry import REGISTRY, parse_envelope
from contracts.spec import TopicSpec
from servicekit.clock import Clock
from servicekit.deadletter import DeadLetterSender
from servicekit.errors import InvalidMessage, error_category
from servicekit.guard import DeadLetterGuard
from servicekit.inflight import InFlight, OffsetCommitter
from servicekit.lifecycle import TOPIC as LIFECYCLE_TOPIC
from servicekit.lifecycle import LifecycleKind, LifecyclePublisher
from servicekit.logging import get_logger
from servicekit.metrics import KitMetrics
from servicekit.settings import ServiceSettings

_log = get_logger(__name__)
# The registry's default message size; topics sized above it are read up to their own size.
_DEFAULT_SPEC_BYTES = int(
    next(f.default for f in dataclasses.fields(TopicSpec) if f.name == "max_message_bytes")  # type: ignore[arg-type]
)


@dataclass(frozen=True)
class MessageContext:
    """What a handler may know about the message besides its envelope."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]
    attempt: int
    log: Any = field(repr=False)

    @property
    def reply_to(self) -> str | None:
        """The physical topic a requester waits on, if this is a request."""
        return self.headers.get(H.REPLY_TO) or None


Handler = Callable[[Envelope[Any], MessageContext], Awaitable[None]]
BatchHandler = Callable[[list[tuple[Envelope[Any], MessageContext]]], Awaitable[None]]
"""Receives the valid envelopes of one poll; must be idempotent per envelope, because a
failing batch is retried whole and then message by message."""


@dataclass(frozen=True)
class _Item:
    ctx: MessageContext
    value: bytes
    envelope: Envelope[Any] | None
    error: Exception | None


class EventConsumer:
    """Runs ``handler`` for each message of one logical topic in one consumer group."""

    def __init__(
        self,
        *,
        topic: str,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        settings: ServiceSettings,
        group: str,
        dead_letters: DeadLetterSender,
        lifecycle: LifecyclePublisher,
        metrics: KitMetrics,
        clock: Clock,
        in_flight: int = 1,
    ) -> None:
        if topic not in REGISTRY:
            raise ValueError(f"{topic} is not in the topic registry")
        self.topic = topic
        self._spec = REGISTRY[topic]
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler and batch_handler")
        self._handler = handler
        self._batch = batch_handler
        self._settings = settings
        self._group = group
        self._dead_letters = dead_letters
        self._lifecycle = lifecycle
        self._metrics = metrics
        self.guard = DeadLetterGuard(
            clock,
            limit=settings.dlq_limit_count,
            window_s=settings.dlq_limit_window_s,
            pause_s=settings.dlq_pause_s,
        )
        self._was_paused = False
        self._echo = topic != LIFECYCLE_TOPIC
        self._in_flight = InFlight(in_flight, name=topic) if in_flight > 1 else None
        self._last_consumer: OffsetCommitter | None = None
        self._closing = False

    async def _trace(self, kind: LifecycleKind, **kwargs: Any) -> None:
        """Emit a ``retry``/``error`` lifecycle event unless that would feed our own input."""
        if not self._echo:
            self._metrics.lifecycle_suppressed.labels(kind=kind).inc()
            return
        await self._lifecycle.emit_quietly(kind, **kwargs)

    @property
    def paused(self) -> bool:
        """Whether the dead-letter limit paused this consumer."""
        return self.guard.paused

    async def __call__(self, msg: KafkaMessage) -> None:
        """FastStream entry point (manual acknowledgement), for one record or a batch."""
        if await self._hold_if_paused(msg):
            return
        raw = msg.raw_message
        records = tuple(raw) if isinstance(raw, (tuple, list)) else (raw,)
        if self._in_flight is not None and isinstance(msg.consumer, AIOKafkaConsumer):
            if self._closing:  # shutting down: the poll is left for the next consumer
                await msg.nack()
                await asyncio.sleep(0.1)
                return
            self._last_consumer = msg.consumer
            await self._in_flight.submit(msg.consumer, records, lambda: self._process(records))
            return
        if await self._process(records):
            await msg.ack()
        else:
            await msg.nack()

    async def drain(self) -> None:
        """Take no new polls; finish and commit those in flight (shutdown, before the broker
        stops, so their answers are still published)."""
        self._closing = True
        if self._in_flight is not None:
            await self._in_flight.drain(self._last_consumer)

    async def _process(self, records: tuple[ConsumerRecord[Any, Any], ...]) -> bool:
        """Process one poll; False when it must be consumed again."""
        items = [item for item in (self._prepare(r) for r in records) if item is not None]
        started = time.monotonic()
        try:
            return await (
                self._process_batch(items) if self._batch else self._process_single(items)
            )
        finally:
            self._metrics.handler_seconds.labels(topic=self.topic).observe(
                time.monotonic() - started
            )

    def _prepare(self, record: ConsumerRecord[Any, Any]) -> _Item | None:
        """Decode headers and parse the envelope; None when addressed to another group."""
        headers = _decode_headers(record.headers)
        target = headers.get(H.TARGET_CONSUMER_GROUP)
        if target and target != self._group:
            self._metrics.consumed.labels(topic=self.topic, outcome="skipped_other_group").inc()
            return None
        value: bytes = record.value or b""
        attempt = _attempt(headers)
        log = _log.bind(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event_id=headers.get(H.EVENT_ID),
            correlation_id=headers.get(H.CORRELATION_ID),
            attempt=attempt,
        )
        envelope: Envelope[Any] | None = None
        error: Exception | None = None
        try:
            envelope = self._parse(value, headers)
            log = log.bind(event_id=envelope.event_id, tenant_id=envelope.tenant_id)
        except InvalidMessage as exc:
            error = exc
        ctx = MessageContext(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=headers,
            attempt=attempt,
            log=log,
        )
        return _Item(ctx=ctx, value=value, envelope=envelope, error=error)

    async def _process_single(self, items: list[_Item]) -> bool:
        for item in items:
            if item.envelope is None:
                if not await self._fail(item, item.error or InvalidMessage("unparsed")):
                    return False
                continue
            try:
                await self._run_with_retries([item])
            except Exception as exc:
                if not await self._fail(item, exc):
                    return False
            else:
                await self._succeeded(item)
        return True

    async def _process_batch(self, items: list[_Item]) -> bool:
        """Dead-letter the unparseable, run the handler on the rest at once; if that keeps
        failing, run it per message so one poison message cannot sink its neighbours."""
        good: list[_Item] = []
        for item in items:
            if item.envelope is None:
                if not await self._fail(item, item.error or InvalidMessage("unparsed")):
                    return False
            else:
                good.append(item)
        if not good:
            return True
        try:
            await self._run_with_retries(good)
        except Exception as exc:
            if len(good) == 1:
                return await self._fail(good[0], exc)
            good[0].ctx.log.warning("batch_failed_isolating", size=len(good), error=repr(exc))
            return await self._process_single(good)
        for item in good:
            await self._succeeded(item)
        return True

    async def _succeeded(self, item: _Item) -> None:
        self._metrics.consumed.labels(topic=self.topic, outcome="processed").inc()
        entry = item.ctx.headers.get(H.DLQ_ENTRY_ID)
        if entry and item.envelope is not None:
            await self._report_resolved(item.envelope, entry, item.ctx.attempt)

    async def _fail(self, item: _Item, exc: BaseException) -> bool:
        """Dead-letter one message; False when even that failed (the caller rewinds)."""
        if not await self._dead_letter(item.ctx, item.value, exc, item.envelope):
            return False
        if self.guard.record():
            self._was_paused = True
            self._metrics.consumer_paused.labels(topic=self.topic).set(1)
            item.ctx.log.critical(
                "consumer_paused",
                reason="dead-letter limit",
                limit=self._settings.dlq_limit_count,
                window_s=self._settings.dlq_limit_window_s,
                pause_s=self._settings.dlq_pause_s,
            )
        return True

    async def _hold_if_paused(self, msg: KafkaMessage) -> bool:
        """While paused, rewind and wait, so the message is taken again after the pause."""
        if self.guard.paused:
            await msg.nack()
            await asyncio.sleep(min(self.guard.remaining_s(), 1.0))
            return True
        if self._was_paused:
            self._was_paused = False
            self._metrics.consumer_paused.labels(topic=self.topic).set(0)
            _log.warning("consumer_resumed", topic=self.topic)
        return False

    async def _report_resolved(self, envelope: Envelope[Any], entry_id: str, attempt: int) -> None:
        await self._lifecycle.emit_quietly(
            "run_completed",
            tenant_id=envelope.tenant_id,
            run_id=envelope.correlation_id,
            domain=self.topic,
            details={"dlq_entry_id": entry_id, "attempt": attempt, "group": self._group},
            cause=envelope,
            dedupe_parts=("dlq-resolved", entry_id, str(attempt)),
        )

    def _parse(self, value: bytes, headers: dict[str, str]) -> Envelope[Any]:
        limit = self._settings.max_message_bytes
        if self._spec.max_message_bytes > _DEFAULT_SPEC_BYTES:
            # the registry allows this topic more (deadletter.v1 carries a whole original
            # record in base64): refusing it here would re-dead-letter a good dead letter
            limit = max(limit, self._spec.max_message_bytes)
        if len(value) > limit:
            raise InvalidMessage(f"message of {len(value)} bytes exceeds the {limit}-byte limit")
        declared = headers.get(H.EVENT_TYPE)
        if declared is not None and declared != self._spec.event_type:
            raise InvalidMessage(
                f"event type {declared!r} does not belong on {self.topic} "
                f"(expects {self._spec.event_type!r})"
            )
        try:
            envelope = parse_envelope(value)
        except ContractError as exc:
            raise InvalidMessage(str(exc)) from exc
        if (envelope.event_type, envelope.schema_version) != (
            self._spec.event_type,
            self._spec.version,
        ):
            raise InvalidMessage(
                f"{envelope.event_type} v{envelope.schema_version} does not belong on {self.topic}"
            )
        return envelope

    async def _run_with_retries(self, items: list[_Item]) -> None:
        retries = self._settings.handler_retries
        first = items[0]
        assert first.envelope is not None
        for attempt in range(retries + 1):
            try:
                if self._batch:
                    await self._batch(
                        [(i.envelope, i.ctx) for i in items if i.envelope is not None]
                    )
                else:
                    assert self._handler is not None
                    await self._handler(first.envelope, first.ctx)
                return
            except InvalidMessage:
                raise
            except Exception as exc:
                if attempt == retries:
                    raise
                delay = self._settings.handler_retry_base_s * (2**attempt)
                first.ctx.log.warning(
                    "handler_retry",
                    error=repr(exc),
                    retry=attempt + 1,
                    delay_s=delay,
                    batch=len(items),
                )
                self._metrics.retries.labels(topic=self.topic).inc()
                for item in items:
                    assert item.envelope is not None
                    await self._trace(
                        "retry",
                        tenant_id=item.envelope.tenant_id,
                        run_id=item.envelope.correlation_id,
                        domain=self.topic,
                        details={"error_class": exc.__class__.__name__, "retry": attempt + 1},
                        cause=item.envelope,
                        dedupe_parts=(str(item.ctx.attempt), str(attempt)),
                    )
                await asyncio.sleep(delay)

    async def _dead_letter(
        self,
        ctx: MessageContext,
        value: bytes,
        exc: BaseException,
        envelope: Envelope[Any] | None,
    ) -> bool:
        try:
            await self._dead_letters.send(
                topic=ctx.topic,
                partition=ctx.partition,
                offset=ctx.offset,
                key=ctx.key,
                headers=ctx.headers,
                value=value,
                error=exc,
                attempt=ctx.attempt,
                envelope=envelope,
            )
        except Exception as publish_error:
            ctx.log.error("dead_letter_publish_failed", error=repr(publish_error), cause=repr(exc))
            await asyncio.sleep(1.0)
            return False
        category = error_category(exc)
        self._metrics.dead_letters.labels(topic=self.topic, category=category).inc()
        self._metrics.consumed.labels(topic=self.topic, outcome="dead_lettered").inc()
        ctx.log.warning(
            "message_dead_lettered",
            category=category,
            error_class=exc.__class__.__name__,
            error=str(exc)[:300],
        )
        if envelope is not None:
            await self._trace(
                "error",
                tenant_id=envelope.tenant_id,
                run_id=envelope.correlation_id,
                domain=self.topic,
                details={
                    "error_class": exc.__class__.__name__,
                    "error": str(exc)[:500],
                    "category": category,
                },
                cause=envelope,
                dedupe_parts=(str(ctx.attempt),),
            )
        return True


def single_record(msg: KafkaMessage) -> ConsumerRecord[Any, Any]:
    """The one record of a non-batch message."""
    raw = msg.raw_message
    if isinstance(raw, tuple):
        raise TypeError("a batch message reached a single-message consumer")
    return raw


def _decode_headers(raw: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw or ():
        if value is None:
            continue
        headers[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return headers


def _attempt(headers: dict[str, str]) -> int:
    try:
        return max(1, int(headers.get(H.ATTEMPT, "1")))
    except ValueError:
        return 1
