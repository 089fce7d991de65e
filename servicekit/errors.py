"""Error taxonomy: what decides retry versus dead letter.

- :class:`InvalidMessage` — the input can never be processed (bad JSON, wrong shape, unknown
  version, too big, a business rule refuses it). Dead-lettered at once, never retried.
- :class:`RetryableError` — the input is fine but something we depend on failed (a store is
  down, a timeout). Retried a bounded number of times in-process, then dead-lettered with the
  ``retryable`` category so the DLQ service re-publishes it later with backoff.
- Any other exception is a bug or an unknown failure; it is treated like a retryable error
  (bounded), because losing a message is worse than retrying a deterministic failure three times.
"""

from __future__ import annotations

from typing import Literal


class ServiceError(Exception):
    """Base of every error raised deliberately by service code."""


class InvalidMessage(ServiceError):
    """The message can never be processed; dead-letter it at once."""


class RetryableError(ServiceError):
    """A transient failure; the same message may succeed later."""


class ConfigError(ServiceError):
    """Settings are missing or invalid; the process must not start."""


class DependencyUnavailable(ServiceError):
    """A dependency did not become ready within the start-up deadline."""


def error_category(exc: BaseException) -> Literal["invalid", "retryable"]:
    """Return ``"invalid"`` or ``"retryable"`` for a dead letter's ``error_category``."""
    return "invalid" if isinstance(exc, InvalidMessage) else "retryable"
