"""Errors of the dlq service."""

from __future__ import annotations

from servicekit.errors import ServiceError


class Transient(ServiceError):
    """A dependency is briefly unavailable: the same work will succeed later. The consumers
    wait and retry rather than dead-letter their own input, which would only loop."""


class StoreUnavailable(Transient):
    """Postgres did not answer (connection lost, timeout, failover)."""


class EventsUnavailable(Transient):
    """A lifecycle event that must accompany a state change could not be published."""


class EntryNotFound(ServiceError):
    """No entry has this id."""


class ActionRefused(ServiceError):
    """An operator action does not apply to the entry in its current state."""

    def __init__(self, entry_id: str, reason: str) -> None:
        super().__init__(f"{entry_id}: {reason}")
        self.entry_id = entry_id
        self.reason = reason
