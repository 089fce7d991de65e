"""Errors of the digest service."""

from __future__ import annotations


class DigestError(Exception):
    """Base of the digest service's own errors."""


class VerifierFailed(DigestError):
    """The verifier (signals or LLM judge) raised or answered unusable output; the candidate
    it was checking counts as failed, never as passed."""


class StoreUnavailable(DigestError):
    """A store the run needs did not answer (retryable)."""
