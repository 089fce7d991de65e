"""Errors of the router service: what the REST layer maps to 4xx/5xx, and what the Kafka
flow retries or dead-letters (the runtime's taxonomy)."""

from __future__ import annotations

from servicekit.errors import RetryableError, ServiceError


class Unauthenticated(ServiceError):
    """No credential, or one that is not valid (401). ``reason`` is a metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(ServiceError):
    """A valid credential that may not be used (a revoked key): 403."""


class StoreUnavailable(RetryableError):
    """Postgres did not answer (503 on REST; retried on Kafka)."""


class RetrievalUnavailable(RetryableError):
    """The retrieval service did not answer within its deadline."""


class ServiceTimeout(RetryableError):
    """Another service (trend) did not answer a request within its deadline (504)."""


class DispatchFailed(RetryableError):
    """A command for the smart path could not be published (503)."""
