"""Tracing: W3C trace context across a Kafka hop and into REST, trace ids in log lines,
OTLP export only when configured."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from contracts import headers as H
from contracts.envelope import Envelope
from servicekit import tracing
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from servicekit.logging import configure_logging, get_logger
from tests.helpers.kit import post_envelope, probe_settings, running

POSTS = "posts.ingested.v1"


def _provider(name: str, exporter: InMemorySpanExporter) -> TracerProvider:
    provider = tracing.build_tracer_provider(name)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _trace_id(traceparent: str | None) -> str:
    assert traceparent is not None
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, len(trace_id), len(span_id), len(flags)) == ("00", 32, 16, 2)
    return trace_id


def _hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's logging configured as in production (JSON), into a buffer; restored."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, structlog.get_config())
    buffer = io.StringIO()
    configure_logging("INFO", json=True)
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.configure(**saved[2])


@pytest.mark.unit
def test_log_lines_carry_the_trace_id_inside_a_span(json_log: io.StringIO) -> None:
    exporter = InMemorySpanExporter()
    tracer = _provider("probe", exporter).get_tracer(__name__)
    log = get_logger("probe")
    log.info("outside")
    with tracer.start_as_current_span("work") as span:
        log.info("inside")
        logging.getLogger("stdlib").warning("stdlib inside")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    by_event = {line["event"]: line for line in lines}
    ctx = span.get_span_context()
    assert "trace_id" not in by_event["outside"]
    for event in ("inside", "stdlib inside"):
        assert by_event[event]["trace_id"] == f"{ctx.trace_id:032x}"
        assert by_event[event]["span_id"] == f"{ctx.span_id:016x}"


@pytest.mark.unit
async def test_rest_requests_continue_the_callers_trace() -> None:
    exporter = InMemorySpanExporter()
    kit = ServiceKit(
        probe_settings("127.0.0.1:1", "t."), tracer_provider=_provider("probe", exporter)
    )
    http = FastAPI()

    @http.get("/probe")
    async def probe() -> dict[str, Any]:
        return {"traceparent": tracing.current_traceparent()}

    app = kit.build(http).http  # the lifespan (Kafka) is not run by ASGITransport
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        seen = (await client.get("/probe", headers={"traceparent": caller})).json()
        assert (await client.get("/health")).status_code == 200
    assert _trace_id(seen["traceparent"]) == "4bf92f3577b34da6a3ce929d0e0e4736"
    servers = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /probe"], "health checks are not traced"
    assert _hex(servers[0]) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert servers[0].parent is not None
    assert servers[0].parent.span_id == 0x00F067AA0BA902B7


@pytest.mark.unit
def test_tracing_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    kit = ServiceKit(probe_settings("127.0.0.1:1", "t."))
    assert kit.tracer_provider is None
    assert tracing.process_tracer_provider("probe") is None


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []  # noqa: RUF012 - one test's inbox

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.mark.unit
def test_spans_are_exported_over_otlp_only_when_an_endpoint_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.otlp_endpoint() is None
    silent = tracing.build_tracer_provider("quiet")
    with silent.get_tracer(__name__).start_as_current_span("not exported"):
        pass
    assert silent.force_flush()

    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Collector.received = []
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        provider = tracing.build_tracer_provider("exporting", version="1.2.3")
        with provider.get_tracer(__name__).start_as_current_span("exported span"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        server.shutdown()
        thread.join(5)
    assert [path for path, _ in _Collector.received] == ["/v1/traces"]
    body = _Collector.received[0][1]
    assert b"exported span" in body
    assert b"exporting" in body
    assert b"not exported" not in body


@pytest.mark.integration
async def test_a_trace_crosses_a_kafka_hop_between_two_services(
    bootstrap: str, prefix: str
) -> None:
    exporter = InMemorySpanExporter()
    publisher_provider = _provider("publisher", exporter)
    publisher = ServiceKit(probe_settings(bootstrap, prefix), tracer_provider=publisher_provider)
    consumer = ServiceKit(
        probe_settings(bootstrap, prefix), tracer_provider=_provider("consumer", exporter)
    )
    seen: dict[str, Any] = {}
    done = asyncio.Event()

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen["handler"] = tracing.current_traceparent()
        seen["header"] = ctx.headers.get(H.TRACEPARENT)
        seen["log"] = tracing.add_trace_context(None, "info", {"event": "handled"})
        done.set()

    consumer.consume(POSTS, handle)
    async with running(consumer), running(publisher):
        tracer = publisher_provider.get_tracer(__name__)
        with tracer.start_as_current_span("ingest", kind=SpanKind.INTERNAL) as root:
            envelope = publisher.publisher.envelope(
                post_envelope().payload, topic=POSTS, tenant_id="acme"
            )
            await publisher.publisher.publish(envelope, key="acme:naked_science")
        await asyncio.wait_for(done.wait(), timeout=60)
    trace_id = f"{root.get_span_context().trace_id:032x}"
    assert _trace_id(seen["handler"]) == trace_id
    assert _trace_id(seen["header"]) == trace_id
    assert seen["log"]["trace_id"] == trace_id

    spans = exporter.get_finished_spans()
    producer = [s for s in spans if s.kind is SpanKind.PRODUCER and s.name.endswith("publish")]
    processed = [s for s in spans if s.kind is SpanKind.CONSUMER and s.name.endswith("process")]
    assert [s.resource.attributes["service.name"] for s in producer] == ["publisher"]
    assert [s.resource.attributes["service.name"] for s in processed] == ["consumer"]
    assert {_hex(s) for s in (*producer, *processed)} == {trace_id}
    # The handler's span is a child of what the publisher put in the header.
    assert processed[0].parent is not None
    assert f"{processed[0].parent.span_id:016x}" == seen["header"].split("-")[2]
    assert trace.get_current_span().get_span_context().is_valid is False


@pytest.mark.integration
async def test_a_bulk_publish_is_one_span_whose_context_every_message_carries(
    bootstrap: str, prefix: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = _provider("publisher", exporter)
    publisher = ServiceKit(probe_settings(bootstrap, prefix), tracer_provider=provider)
    consumer = ServiceKit(probe_settings(bootstrap, prefix), tracer_provider=None)
    seen: list[tuple[int, bytes | None, str | None]] = []
    done = asyncio.Event()

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        seen.append((envelope.payload.message_id, ctx.key, ctx.headers.get(H.TRACEPARENT)))
        if len(seen) == 5:
            done.set()

    consumer.consume(POSTS, handle)
    async with running(consumer), running(publisher):
        envelopes = [
            publisher.publisher.envelope(post_envelope(n).payload, topic=POSTS, tenant_id="acme")
            for n in range(1, 6)
        ]
        with provider.get_tracer(__name__).start_as_current_span("index") as root:
            await publisher.publisher.publish_many(
                [(e, "acme:naked_science") for e in envelopes], topic=POSTS
            )
        await asyncio.wait_for(done.wait(), timeout=60)
        published = publisher.metrics.published.labels(topic=POSTS)._value.get()
    trace_id = f"{root.get_span_context().trace_id:032x}"
    (bulk,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.PRODUCER]
    assert bulk.name == f"{prefix}{POSTS} publish"
    assert bulk.attributes is not None
    assert bulk.attributes["messaging.batch.message_count"] == 5
    assert _hex(bulk) == trace_id
    assert bulk.context is not None
    # one key, so one partition: the order given is the order consumed
    assert [n for n, _, _ in seen] == [1, 2, 3, 4, 5]
    assert {key for _, key, _ in seen} == {b"acme:naked_science"}
    ctx = bulk.context
    assert {tp for _, _, tp in seen} == {
        f"00-{trace_id}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    }
    assert published == 5
