"""Kafka broker factory and the envelope publisher.

The broker never auto-commits: every subscriber the runtime declares uses manual
acknowledgement, and :mod:`servicekit.consumer` commits an offset only after the handler
finished (or the message was safely dead-lettered). With a tracer provider it also carries
OpenTelemetry's W3C trace context in the message headers (:mod:`servicekit.tracing`).
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry.sdk.trace import TracerProvider

from servicekit.metrics import KitMetrics
from servicekit.settings import ServiceSettings
from servicekit.tracing import kafka_middleware

#: Producer and fetch ceilings: larger than the per-message limit so an oversized message can
#: still be consumed and dead-lettered whole (the broker allows 16 MiB locally).
MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Producer batch per partition. aiokafka's default (16 KiB, about ten announcements) makes a
#: burst of messages wait for the batch ahead to drain, a round trip every few messages.
BATCH_BYTES = 1024 * 1024
#: What a lingering consumer's fetch waits for (``fetch_min_bytes``), unless its linger ends
#: first: some hundreds of typical events, a full poll.
FULL_FETCH_BYTES = 256 * 1024


def make_broker(
    settings: ServiceSettings,
    metrics: KitMetrics,
    tracer_provider: TracerProvider | None = None,
) -> KafkaBroker:
    """A broker with Prometheus middleware (and tracing with ``tracer_provider``), sized for
    large dead letters, no auto-commit."""
    # Tracing goes first (outermost), so the metrics and the handler run inside its span.
    tracing: list[Any] = [kafka_middleware(tracer_provider)] if tracer_provider else []
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-{settings.instance_id or 'main'}",
        max_request_size=MAX_REQUEST_BYTES,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=BATCH_BYTES,
        security=_security(settings),
        middlewares=[
            *tracing,
            KafkaPrometheusMiddleware(
                registry=metrics.registry,
                app_name=settings.service_name,
            ),
        ],
        graceful_timeout=15.0,
        logger=None,
    )


def admin_options(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka client keyword arguments for the same security as the broker (SSL, SASL), for
    the admin clients: topic creation and the readiness check."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = ssl.create_default_context()
    if protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username or ""
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        )
    return options


def _security(settings: ServiceSettings) -> Any:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol.endswith("SSL")
    ctx = ssl.create_default_context() if use_ssl else None
    if protocol == "SSL":
        from faststream.security import BaseSecurity

        return BaseSecurity(ssl_context=ctx)
    user = settings.kafka_sasl_username or ""
    password = (
        settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    )
    cls: Any = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }[settings.kafka_sasl_mechanism or "PLAIN"]
    return cls(username=user, password=password, ssl_context=ctx, use_ssl=use_ssl)
