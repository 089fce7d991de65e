"""The retry schedule: exponential backoff with jitter that only ever delays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how late a failed message is retried.

    ``max_attempts`` counts deliveries, the original one included. ``jitter`` is a fraction:
    a delay ``d`` becomes ``d · (1 + jitter · r)`` for ``r`` in ``[0, 1)``.
    """

    base_s: float
    max_attempts: int
    jitter: float = 0.0
    max_delay_s: float = 86_400.0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.max_delay_s <= 0:
            raise ValueError("base_s and max_delay_s must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")


def retry_delay_s(failures: int, policy: RetryPolicy, rand: float) -> float:
    """Seconds from the ``failures``-th failed delivery to the next retry.

    ``base · 2^(failures-1)``, stretched by up to ``jitter`` of itself (``rand`` in ``[0, 1)``)
    and capped at ``max_delay_s``. The jitter is one-sided on purpose: the documented delay is
    a floor that operators and tests can rely on, and the spread still breaks up herds of
    retries that failed together. Raises ``ValueError`` for ``failures < 1`` or ``rand`` out
    of range.
    """
    if failures < 1:
        raise ValueError("failures must be at least 1")
    if not 0.0 <= rand < 1.0:
        raise ValueError("rand must be within [0, 1)")
    # cap the exponent first: 2**1000 is a float overflow waiting to happen
    exponent = min(failures - 1, 64)
    delay = min(policy.base_s * 2.0**exponent, policy.max_delay_s)
    return min(delay * (1.0 + policy.jitter * rand), policy.max_delay_s)


def next_retry_at(failed_at: datetime, failures: int, policy: RetryPolicy, rand: float) -> datetime:
    """When the retry after the ``failures``-th failure (at ``failed_at``) is due."""
    return failed_at + timedelta(seconds=retry_delay_s(failures, policy, rand))
