"""Errors of the digest service."""

from __future__ import annotations


class DigestError(Exception):
    """Base of the digest service's own errors."""


class VerifierFailed(DigestError):
    """The verifier (signals or LLM judge) raised or answered unusable output; the candidate
    it was checking counts as failed, never as passed."""


class StoreUnavailable(DigestError):
    """A store the run needs did not answer (retryable)."""


class ScheduleExists(DigestError):
    """The user already has a schedule of that name (names are unique per tenant and user)."""

    def __init__(self, user_id: str, name: str) -> None:
        super().__init__(f"user {user_id!r} already has a schedule named {name!r}")
