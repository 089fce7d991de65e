"""OpenTelemetry tracing: one tracer provider per process, W3C trace context everywhere.

- Kafka: the broker carries FastStream's ``KafkaTelemetryMiddleware``, which injects the W3C
  ``traceparent`` header on publish and continues the trace on consume, so a handler runs
  inside a span of the publisher's trace (:func:`kafka_middleware`).
- REST: FastAPI apps are instrumented (:func:`instrument_fastapi`); an incoming
  ``traceparent`` is honoured, ``/health``, ``/ready`` and ``/metrics`` are not traced.
- Export: spans go out over OTLP/HTTP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; the exporter reads the standard
  ``OTEL_EXPORTER_OTLP_*`` variables itself. Without one, spans are still made (trace ids in
  logs and in message headers) but nothing is exported. ``OTEL_SDK_DISABLED=true`` turns
  tracing off altogether.
- Logs: :func:`add_trace_context` is a structlog processor that adds ``trace_id`` and
  ``span_id`` to every line written inside a span.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi import FastAPI
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
#: Operational endpoints polled every few seconds: tracing them would drown the real spans.
UNTRACED_URLS = "/health,/ready,/metrics"

_lock = threading.Lock()
_provider: TracerProvider | None = None


def tracing_disabled() -> bool:
    """Whether ``OTEL_SDK_DISABLED`` switches the SDK off (the standard variable)."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def otlp_endpoint() -> str | None:
    """The configured OTLP endpoint, if any."""
    for name in ENDPOINT_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def build_tracer_provider(
    service_name: str, version: str = "", instance_id: str = ""
) -> TracerProvider:
    """A new SDK provider naming the service, with an OTLP exporter when one is configured."""
    attributes = {"service.name": service_name, "service.namespace": "tgint"}
    if version:
        attributes["service.version"] = version
    if instance_id:
        attributes["service.instance.id"] = instance_id
    provider = TracerProvider(resource=Resource.create(attributes))
    if otlp_endpoint() is not None:
        # Imported only when used: the exporter pulls in protobuf and requests.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def process_tracer_provider(
    service_name: str, version: str = "", instance_id: str = ""
) -> TracerProvider | None:
    """The process's provider, made by the first caller and installed as the global one
    (libraries that look it up find it); None when tracing is disabled."""
    global _provider
    if tracing_disabled():
        return None
    with _lock:
        if _provider is None:
            _provider = build_tracer_provider(service_name, version, instance_id)
            trace.set_tracer_provider(_provider)
        return _provider


def kafka_middleware(provider: TracerProvider) -> KafkaTelemetryMiddleware:
    """FastStream's Kafka telemetry middleware on ``provider`` (W3C context in headers).

    Its OpenTelemetry metrics are not collected: Prometheus metrics already cover them.
    """
    return KafkaTelemetryMiddleware(tracer_provider=provider, include_messages_counters=False)


def instrument_fastapi(app: FastAPI, provider: TracerProvider) -> None:
    """Trace every request of ``app`` except the operational endpoints (idempotent)."""
    if getattr(app, "_is_instrumented_by_opentelemetry", False):
        return
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside a (valid) span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def add_trace_context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span, when there is
    one (a caller's explicit values win)."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event.setdefault("trace_id", f"{ctx.trace_id:032x}")
        event.setdefault("span_id", f"{ctx.span_id:016x}")
    return event
