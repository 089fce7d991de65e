"""The service kit: one object per service that owns the broker, publishers and HTTP surface.

A service's composition root (``services/<name>/app.py: build_app``) creates a
:class:`ServiceKit`, registers its handlers with :meth:`ServiceKit.consume`, adds start-up
hooks and readiness checks for its stores, and returns :meth:`ServiceKit.build`'s
:class:`ServiceApp`. Nothing connects at import time; everything starts in the HTTP app's
lifespan, after the dependencies answered.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Response
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts.registry import REGISTRY
from servicekit.auth import ApiGuard, split_tokens
from servicekit.clock import Clock, SystemClock
from servicekit.consumer import BatchHandler, EventConsumer, Handler
from servicekit.deadletter import DeadLetterSender
from servicekit.kafka import FULL_FETCH_BYTES, MAX_REQUEST_BYTES, admin_options, make_broker
from servicekit.lag import DEFAULT_INTERVAL_S, LagSampler
from servicekit.lifecycle import LifecyclePublisher
from servicekit.logging import get_logger
from servicekit.metrics import KitMetrics, build_kit_metrics
from servicekit.publisher import Publisher
from servicekit.rpc import RequestReplyClient
from servicekit.settings import ServiceSettings, env_names
from servicekit.startup import wait_for
from servicekit.topics import ensure_topics
from servicekit.tracing import instrument_fastapi, process_tracer_provider

Hook = Callable[[], Awaitable[None]]
Check = Callable[[], Awaitable[object]]
_log = get_logger(__name__)


@dataclass
class ServiceApp:
    """What ``build_app`` returns: the HTTP app to serve plus handles tests want."""

    kit: ServiceKit
    http: FastAPI
    deps: Any = None


@dataclass
class _State:
    started: bool = False


class ServiceKit:
    """Broker, publishers, consumers, hooks and health for one service instance."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        clock: Clock | None = None,
        metrics: KitMetrics | None = None,
        ensure_topics: bool = True,
        tracer_provider: TracerProvider | None = None,
        lag_interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        """``tracer_provider`` defaults to the process's (:mod:`servicekit.tracing`; None when
        ``OTEL_SDK_DISABLED=true``); consumer lag is sampled every ``lag_interval_s``."""
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.metrics = metrics or build_kit_metrics()
        self.instance_id = settings.instance_id or uuid.uuid4().hex[:12]
        self.tracer_provider = tracer_provider or process_tracer_provider(
            settings.service_name, settings.version, self.instance_id
        )
        self.broker: KafkaBroker = make_broker(settings, self.metrics, self.tracer_provider)
        self.publisher = Publisher(
            self.broker, settings, self.metrics, self.clock, self.tracer_provider
        )
        self.lifecycle = LifecyclePublisher(self.publisher, settings.service_name, self.metrics)
        own = env_names(type(settings), "api_tokens")[0]
        self.api_guard = ApiGuard(
            split_tokens(settings.internal_token, settings.api_tokens),
            missing_hint=f"set TGI_INTERNAL_TOKEN or {own}",
        )
        """The dependency guarding the service's own REST API (:mod:`servicekit.auth`)."""
        self.consumers: dict[str, EventConsumer] = {}
        self._rpc: RequestReplyClient | None = None
        self._ensure_topics = ensure_topics
        self._startup: list[tuple[str, Hook]] = []
        self._shutdown: list[Hook] = []
        self._checks: list[tuple[str, Check]] = []
        self._background: list[tuple[str, Hook]] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._task_errors: dict[str, str] = {}
        self._lag_interval_s = lag_interval_s
        self._lag_task: asyncio.Task[None] | None = None
        self._state = _State()

    # -- registration (before start) -------------------------------------------------------

    def consume(self, topic: str, handler: Handler, *, group: str | None = None) -> EventConsumer:
        """Run ``handler`` for every message of the logical ``topic`` (manual commits)."""
        return self._register(topic, group, handler=handler)

    def consume_batch(
        self,
        topic: str,
        handler: BatchHandler,
        *,
        group: str | None = None,
        max_records: int = 500,
        timeout_ms: int = 200,
        in_flight: int = 1,
        linger_ms: int = 0,
    ) -> EventConsumer:
        """Run ``handler`` on up to ``max_records`` messages at once (one poll); the offsets of
        the whole poll are committed after it (and any dead letters) finished. With
        ``in_flight`` > 1, that many polls are handled at once, committed in order
        (:mod:`servicekit.inflight`); for handlers that do not depend on message order. With
        ``linger_ms`` > 0 the broker holds each fetch until about a poll's worth of records
        (``FULL_FETCH_BYTES``) is there or ``linger_ms`` passed: fewer, fuller polls (less CPU
        per message for the consumer and the broker) where a fraction of a second of delay
        does not matter."""
        return self._register(
            topic,
            group,
            batch_handler=handler,
            max_records=max_records,
            timeout_ms=timeout_ms,
            in_flight=in_flight,
            linger_ms=linger_ms,
        )

    def _register(
        self,
        topic: str,
        group: str | None,
        *,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        max_records: int = 0,
        timeout_ms: int = 0,
        in_flight: int = 1,
        linger_ms: int = 0,
    ) -> EventConsumer:
        group_id = group or self.settings.group_id
        consumer = EventConsumer(
            topic=topic,
            handler=handler,
            batch_handler=batch_handler,
            settings=self.settings,
            group=group_id,
            dead_letters=DeadLetterSender(
                self.publisher, self.settings.service_name, group_id, self.clock
            ),
            lifecycle=self.lifecycle,
            metrics=self.metrics,
            clock=self.clock,
            in_flight=in_flight,
        )

        async def entry(msg: KafkaMessage) -> None:
            await consumer(msg)

        entry.__name__ = f"consume_{topic.replace('.', '_')}"
        extra: dict[str, Any] = {}
        if batch_handler is not None:
            extra = {"batch": True, "max_records": max_records, "batch_timeout_ms": timeout_ms}
        if linger_ms > 0:
            extra |= {"fetch_min_bytes": FULL_FETCH_BYTES, "fetch_max_wait_ms": linger_ms}
        self._subscriber(self.settings.topic(topic), group_id, **extra)(entry)
        self.consumers[topic] = consumer
        return consumer

    def rpc(self) -> RequestReplyClient:
        """The request/reply client of this instance (its reply consumer is registered once)."""
        if self._rpc is None:
            reply_topic = self.settings.topic(
                f"replies.{self.settings.service_name}.{self.instance_id}"
            )
            self._rpc = RequestReplyClient(self.publisher, reply_topic, self.metrics)
            sub = self.broker.subscriber(
                reply_topic,
                group_id=None,
                auto_offset_reset="latest",
                ack_policy=AckPolicy.ACK_FIRST,
                max_partition_fetch_bytes=MAX_REQUEST_BYTES,
                decoder=_raw_decoder,
            )
            client = self._rpc

            async def on_reply(msg: KafkaMessage) -> None:
                await client.on_reply(msg)

            sub(on_reply)
        return self._rpc

    def on_startup(self, name: str, hook: Hook) -> None:
        """Run ``hook`` at start-up, retried with backoff until ``startup_timeout_s``."""
        self._startup.append((name, hook))

    def on_shutdown(self, hook: Hook) -> None:
        """Run ``hook`` at shutdown, after the broker stopped (in reverse order of adding)."""
        self._shutdown.append(hook)

    def run_in_background(self, name: str, loop: Hook) -> None:
        """Run ``loop`` as a task from start-up (after consumers started) until shutdown; if it
        dies, it is logged and restarted after a pause, and ``/ready`` reports it meanwhile."""
        self._background.append((name, loop))

    def add_readiness_check(self, name: str, check: Check) -> None:
        """``/ready`` fails while ``check`` raises."""
        self._checks.append((name, check))

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Wait for Kafka, ensure topics, run start-up hooks, start consuming."""
        s = self.settings
        await wait_for(
            "kafka", self._kafka_check, timeout_s=s.startup_timeout_s, where=s.kafka_bootstrap
        )
        if self._ensure_topics:
            extra = [(self._rpc.reply_topic, 1)] if self._rpc else []
            await ensure_topics(
                s.kafka_bootstrap,
                REGISTRY.values() if s.kafka_create_topics else (),
                prefix=s.topic_prefix,
                extra=extra,
                client_options=admin_options(s),
            )
        for name, hook in self._startup:
            await wait_for(name, hook, timeout_s=s.startup_timeout_s)
        _settle_heap()
        await self.broker.start()
        for name, loop in self._background:
            self._tasks[name] = asyncio.create_task(self._supervise(name, loop), name=name)
        self._lag_task = asyncio.create_task(self.lag_sampler().run(), name="consumer-lag")
        self._state.started = True
        self.metrics.ready.set(1)
        _log.info("service_started", consumers=sorted(self.consumers), group=s.group_id)

    async def stop(self) -> None:
        """Stop consuming (in-flight messages finish), then run shutdown hooks."""
        self._state.started = False
        self.metrics.ready.set(0)
        tasks = [*self._tasks.values(), *([self._lag_task] if self._lag_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._lag_task = None
        await asyncio.gather(*(c.drain() for c in self.consumers.values()))
        await self.lifecycle.flush()
        await self.broker.stop()
        await self.publisher.aclose()
        for hook in reversed(self._shutdown):
            try:
                await hook()
            except Exception as exc:
                _log.warning("shutdown_hook_failed", error=repr(exc))
        _log.info("service_stopped")

    def lag_sampler(self) -> LagSampler:
        """What fills ``tgi_consumer_lag_messages{topic}`` for this instance's consumers."""
        topics = {self.settings.topic(t): t for t in self.consumers}
        return LagSampler(
            self.metrics.consumer_lag,
            self.broker.subscribers,
            topics,
            interval_s=self._lag_interval_s,
        )

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        """Whether the service is ready, with a reason per failing part."""
        paused = sorted(t for t, c in self.consumers.items() if c.paused)
        report: dict[str, str] = {
            "consumers": "ok"
            if not paused
            else "paused by the dead-letter limit: " + ",".join(paused)
        }
        ok = self._state.started and not paused
        if not self._state.started:
            report["broker"] = "not started"
        for name, error in self._task_errors.items():
            ok = False
            report[name] = f"background task failing: {error}"[:200]
        for name, check in self._checks:
            try:
                await check()
                report[name] = "ok"
            except Exception as exc:
                ok = False
                report[name] = f"failing: {exc!r}"[:200]
        return ok, report

    def build(self, http: FastAPI | None = None, deps: Any = None) -> ServiceApp:
        """Attach ``/health``, ``/ready``, ``/metrics`` and the lifespan to ``http``."""
        app = http or FastAPI(title=self.settings.service_name)
        kit = self

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await kit.start()
            try:
                yield
            finally:
                await kit.stop()

        app.router.lifespan_context = lifespan
        if self.tracer_provider is not None:
            instrument_fastapi(app, self.tracer_provider)
        app.add_api_route("/health", _health, methods=["GET"], tags=["ops"])
        app.add_api_route("/ready", self._ready_endpoint, methods=["GET"], tags=["ops"])
        app.add_api_route(
            "/metrics",
            self._metrics_endpoint,
            methods=["GET"],
            tags=["ops"],
            include_in_schema=False,
        )
        return ServiceApp(kit=self, http=app, deps=deps)

    # -- internals -------------------------------------------------------------------------

    async def _supervise(self, name: str, loop: Hook) -> None:
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._task_errors[name] = repr(exc)
                _log.exception("background_task_failed", task=name)
                await asyncio.sleep(5.0)
                self._task_errors.pop(name, None)

    def _subscriber(self, physical_topic: str, group_id: str, **extra: Any) -> Any:
        return self.broker.subscriber(
            physical_topic,
            **extra,
            group_id=group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
            fetch_max_bytes=MAX_REQUEST_BYTES,
            decoder=_raw_decoder,
        )

    async def _kafka_check(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap,
            request_timeout_ms=5000,
            **admin_options(self.settings),
        )
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    async def _ready_endpoint(self, response: Response) -> dict[str, Any]:
        ok, report = await self.readiness()
        response.status_code = 200 if ok else 503
        return {"ready": ok, "checks": report}

    async def _metrics_endpoint(self) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _settle_heap() -> None:
    """Move everything start-up made (models, vocabularies, lexicons, modules) out of the
    collector's reach. They live as long as the process, yet every full collection would walk
    them again: with a language model loaded that was an eighth of a busy service's CPU."""
    gc.collect()
    gc.freeze()


async def _health() -> dict[str, str]:
    return {"status": "ok"}


async def _raw_decoder(msg: Any) -> Any:
    """Hand the raw bytes through; the consumer parses them itself, so a non-JSON body is a
    dead letter of ours rather than a decode error inside FastStream."""
    return msg.body
