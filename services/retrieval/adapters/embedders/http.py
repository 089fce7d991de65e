"""Retries with exponential backoff for the HTTP embedders, and vector checks."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from services.retrieval.adapters.embedders.errors import EmbeddingRejected, EmbeddingUnavailable

T = TypeVar("T")

TRANSIENT_STATUS: Final = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
REJECTED_STATUS: Final = frozenset({400, 413, 422})


class Transient(Exception):
    """One failed attempt that another attempt may fix (raised inside the retry loop only)."""


def classify_status(status: int, provider: str) -> Exception:
    """The exception for an HTTP error status: transient, rejected input, or unavailable."""
    if status in TRANSIENT_STATUS:
        return Transient(f"{provider} answered HTTP {status}")
    if status in REJECTED_STATUS:
        return EmbeddingRejected(f"{provider} rejected the input (HTTP {status})")
    return EmbeddingUnavailable(f"{provider} answered HTTP {status}")


async def with_retries(
    attempt: Callable[[], Awaitable[T]], *, attempts: int, backoff_s: float, provider: str
) -> T:
    """Run ``attempt`` until it succeeds, at most ``attempts`` times, waiting
    ``backoff_s · 2^(n-1)`` (capped at 30 s) after the n-th :class:`Transient` failure.

    Raises :class:`EmbeddingUnavailable` when every attempt failed transiently; any other
    exception from ``attempt`` propagates at once.
    """
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff_s, max=30.0),
        reraise=False,
    )
    try:
        async for state in retrying:
            with state:
                return await attempt()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise EmbeddingUnavailable(f"{provider}: {last} ({attempts} attempts)") from last
    raise AssertionError("unreachable")  # pragma: no cover


async def in_batches(
    texts: Sequence[str],
    request: Callable[[list[str]], Awaitable[list[list[float]]]],
    *,
    batch_size: int,
    attempts: int,
    backoff_s: float,
    provider: str,
) -> list[list[float]]:
    """``request`` on ``batch_size`` texts at a time, each batch :func:`with_retries`; the
    vectors of all batches in order."""
    out: list[list[float]] = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        out += await with_retries(
            lambda batch=batch: request(batch),  # type: ignore[misc]
            attempts=attempts,
            backoff_s=backoff_s,
            provider=provider,
        )
    return out


def unit_vectors(vectors: Sequence[Sequence[float]], dim: int, provider: str) -> list[list[float]]:
    """L2-normalised copies; raises :class:`EmbeddingUnavailable` on a wrong dimension, a
    non-finite value or a zero vector (a provider misconfiguration, not the input's fault)."""
    out: list[list[float]] = []
    for vector in vectors:
        if len(vector) != dim:
            raise EmbeddingUnavailable(f"{provider} returned {len(vector)} dimensions, want {dim}")
        norm = math.sqrt(math.fsum(x * x for x in vector))
        if not math.isfinite(norm) or norm == 0.0:
            raise EmbeddingUnavailable(f"{provider} returned a zero or non-finite vector")
        out.append([x / norm for x in vector])
    return out


def slug(model: str) -> str:
    """A model id as a lower-case name part (``text-embedding-3-small``)."""
    cleaned = "".join(c if c.isalnum() or c in ".-" else "-" for c in model.lower())
    return "-".join(part for part in cleaned.split("-") if part)
