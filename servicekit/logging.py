"""structlog, configured once per process: JSON when not a TTY, key-value when it is.

Standard-library loggers (uvicorn, aiokafka, faststream) go through the same processors, so
every line a service writes is one JSON object in production; a line written inside a trace
carries its ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from servicekit.tracing import add_trace_context

_SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey", "authorization")


def _redact_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Never let a secret reach a log line, whatever a caller bound."""
    for key in list(event):
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            event[key] = "***"
    return event


def configure_logging(level: str = "INFO", json: bool | None = None, service: str = "") -> None:
    """Configure structlog and the stdlib root logger. Safe to call more than once."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        _redact_secrets,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    if service:
        structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    """Return a structlog logger (bind topic/partition/offset/event_id on it)."""
    return structlog.get_logger(name)
