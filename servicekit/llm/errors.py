"""What can go wrong with an LLM call, and what each failure means for the caller.

Every error here is an :class:`LLMError`; callers that degrade (extractive answer, fallback
route) catch that one class. The classes also carry the service-wide taxonomy: a provider that
is down or slow is a :class:`~servicekit.errors.RetryableError`, so a Kafka handler that lets
one escape gets a bounded retry, never a silent pass.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from servicekit.errors import RetryableError, ServiceError

BudgetKind = Literal["llm_calls", "tokens", "agent_steps"]
BUDGET_KINDS: Final[tuple[str, ...]] = get_args(BudgetKind)

# 408 timeout, 409/425 conflict or too early, 429 rate limited, 5xx: another attempt may work.
TRANSIENT_STATUS: Final = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# The request itself was refused (malformed, too large, invalid parameters): never retried.
REJECTED_STATUS: Final = frozenset({400, 413, 422})


class LLMError(ServiceError):
    """Base of every failure of the LLM layer."""


class LLMTimeout(LLMError, RetryableError):
    """The call did not finish before its deadline; it was cut (cancelled) at the deadline."""


class LLMUnavailable(LLMError, RetryableError):
    """The provider cannot answer now: down, refusing our credentials, answering garbage, the
    circuit breaker open, or every retry spent."""


class LLMTransient(LLMUnavailable):
    """One attempt failed in a way another attempt may fix (connection error, 429, 5xx).

    Raised by the raw providers; :class:`~servicekit.llm.resilient.ResilientLLM` retries it and
    raises :class:`LLMUnavailable` when the retries are spent, so callers of an ``LLMClient``
    see it only as the ``LLMUnavailable`` it also is.
    """


class CircuitOpen(LLMUnavailable):
    """The circuit breaker is open: the call was refused at once, nothing was sent."""


class LLMRejected(LLMError):
    """The provider refused this request (HTTP 400, 413, 422): retrying the same request cannot
    help. Not a sign of an unhealthy provider, so it does not trip the circuit breaker."""


class LLMBadOutput(LLMError):
    """The model answered, but not with what was asked (strict JSON parsing or validation
    failed). A failure, never a pass. ``text`` keeps the raw answer for debugging; it is not
    part of the message, which stays short and safe to log."""

    def __init__(self, message: str, *, text: str = "") -> None:
        super().__init__(message)
        self.text = text


class BudgetExceeded(LLMError):
    """A per-request limit would be passed; raised before the call or step, which did not run.

    ``kind`` is ``llm_calls``, ``tokens`` or ``agent_steps``; ``limit`` is the budget's limit
    and ``requested`` the total the refused call or step would have reached (both set when
    :class:`~servicekit.llm.budget.Budget` raises it; optional for fakes in tests).
    """

    def __init__(
        self, kind: BudgetKind, *, limit: int | None = None, requested: int | None = None
    ) -> None:
        detail = f": {requested} > limit {limit}" if limit is not None else ""
        super().__init__(f"{kind} budget exceeded{detail}")
        self.kind: BudgetKind = kind
        self.limit = limit
        self.requested = requested


def classify_status(status: int, provider: str) -> LLMError:
    """The error for an HTTP error status: transient, rejected request, or unavailable
    (401/403 refused credentials, 404 unknown model or path, anything else unexpected)."""
    if status in TRANSIENT_STATUS:
        return LLMTransient(f"{provider} answered HTTP {status}")
    if status in REJECTED_STATUS:
        return LLMRejected(f"{provider} rejected the request (HTTP {status})")
    return LLMUnavailable(f"{provider} answered HTTP {status}")
