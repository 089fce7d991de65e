"""Errors of the memory service, placed in the runtime's taxonomy (retry vs dead letter)."""

from __future__ import annotations

from servicekit.errors import InvalidMessage, RetryableError


class EpisodeRefused(InvalidMessage):
    """The store refused an episode's data (a constraint, an unstorable character): storing
    it again can never succeed, so the runtime dead-letters it at once."""


class StoreUnavailable(RetryableError):
    """The episode store did not answer (down, unreachable, too slow); the API says 503."""
