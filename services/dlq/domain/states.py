"""The life of a dead letter, as states and the transitions between them.

::

    intake ──invalid / unroutable──────────────────────────────► parked
       │
       └─retryable─► pending ──due: leased──► retrying ──publish confirmed, outcome awaited
                        ▲                        │  │
                        │  failed again,         │  └─ consumer succeeded ──► resolved
                        └── budget left ─────────┤
                                                 └─ failed again, budget used ─► failed_permanently

    operator: replay  (pending | retrying* | parked | failed_permanently) → pending, due now,
                      fresh attempt budget
              park    (pending | retrying* | failed_permanently)          → parked
              purge   (any but purged, retrying*)                         → purged, bytes dropped
    * not while a lease is held, i.e. while the scheduler is publishing it
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from services.dlq.domain.backoff import RetryPolicy, next_retry_at


class Status(StrEnum):
    """Where an entry is in its life."""

    PENDING = "pending"
    """Waiting for its next retry at ``next_retry_at``."""
    RETRYING = "retrying"
    """Leased and being re-published, or re-published and waiting for the outcome."""
    RESOLVED = "resolved"
    """A retry was processed successfully by the consumer group that failed."""
    PARKED = "parked"
    """Poison or set aside by an operator: never retried unless an operator replays it."""
    FAILED_PERMANENTLY = "failed_permanently"
    """Every attempt of its budget failed."""
    PURGED = "purged"
    """Removed by an operator; its bytes are gone, the row remains as a record."""


OPEN: Final = frozenset({Status.PENDING, Status.RETRYING})
Action = Literal["replay", "park", "purge"]
ACTIONS: Final[tuple[Action, ...]] = ("replay", "park", "purge")

ALLOWED_FROM: Final[dict[Action, frozenset[Status]]] = {
    "replay": frozenset(
        {Status.PENDING, Status.RETRYING, Status.PARKED, Status.FAILED_PERMANENTLY}
    ),
    "park": frozenset({Status.PENDING, Status.RETRYING, Status.FAILED_PERMANENTLY}),
    "purge": frozenset(
        {
            Status.PENDING,
            Status.RETRYING,
            Status.PARKED,
            Status.FAILED_PERMANENTLY,
            Status.RESOLVED,
        }
    ),
}
"""The statuses each operator action applies to."""

RESOLVABLE: Final = frozenset(
    {Status.PENDING, Status.RETRYING, Status.PARKED, Status.FAILED_PERMANENTLY}
)
"""A success report resolves an entry in any of these: the message *was* processed."""


@dataclass(frozen=True, slots=True)
class Transition:
    """The state an entry moves to after a failure."""

    status: Status
    next_retry_at: datetime | None
    reason: str | None = None


def after_failure(
    *,
    category: Literal["invalid", "retryable"],
    failures: int,
    failed_at: datetime,
    policy: RetryPolicy,
    rand: float,
    unretryable: str | None = None,
) -> Transition:
    """Where an entry goes after its ``failures``-th failed delivery of the current budget.

    Poison (``invalid``) and anything ``unretryable`` names a reason for is parked at once;
    a retryable failure is scheduled by the backoff until ``failures`` reaches
    ``max_attempts``, and is then ``failed_permanently``.
    """
    if category == "invalid":
        return Transition(Status.PARKED, None, "poison: the message can never be processed")
    if unretryable is not None:
        return Transition(Status.PARKED, None, unretryable)
    if failures >= policy.max_attempts:
        return Transition(
            Status.FAILED_PERMANENTLY, None, f"all {policy.max_attempts} attempts failed"
        )
    return Transition(Status.PENDING, next_retry_at(failed_at, failures, policy, rand))


def refusal(
    action: Action, status: Status, *, leased: bool, truncated: bool, routable: bool
) -> str | None:
    """Why ``action`` cannot apply to an entry in ``status``, or None when it can."""
    if status not in ALLOWED_FROM[action]:
        return f"cannot {action} an entry that is {status.value}"
    if leased:
        return "the entry is being re-published right now; try again in a moment"
    if action == "replay" and truncated:
        return "cannot replay: only the first 64 KiB of the original message were kept"
    if action == "replay" and not routable:
        return "cannot replay: the original topic is not one the DLQ service may publish to"
    return None
