"""What the router decides, and the context it decides in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from contracts.v1.queries import Route

RouteName = Route
"""``qa``, ``digest``, ``trend``, ``memory``, ``help``, ``unsupported``: the contract's routes."""

ROUTES: Final[tuple[RouteName, ...]] = get_args(Route)

Stage = Literal["heuristic", "semantic", "llm", "fallback", "cache"]


@dataclass(frozen=True)
class TimeWindow:
    """The period a query is about: ``since <= t < until``, both timezone-aware UTC.

    ``until`` is None when the period runs up to the present ("today", "last 6h"); ``since``
    is None when it has no start. ``label`` names the phrase's meaning ("today",
    "yesterday", "last 6h", "week", "since monday"…), stable whatever ``now`` was.
    """

    since: datetime | None
    until: datetime | None
    label: str


@dataclass(frozen=True)
class RouteContext:
    """What the caller knows besides the query.

    ``now`` is the current time (aware; a naive one is read as UTC): calendar words like
    "today" start at midnight in ``now``'s timezone. The ``previous_*`` fields describe the
    user's last turn (from memory episodes) and let a follow-up ("а вчера?") inherit them.
    """

    now: datetime
    previous_route: RouteName | None = None
    previous_window: TimeWindow | None = None
    previous_query: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    """The route of one query and how it was reached.

    ``confidence`` is in [0, 1]. ``stage`` is the stage that decided (``cache`` when a
    cached decision was reused). ``window`` is the time phrase's period, or the previous
    turn's for a follow-up without one. ``followup`` means the route was inherited from the
    previous turn. ``escalated`` means stages 1–2 were unsure and the LLM stage was reached
    (whether or not an LLM was configured and answered). ``language`` is ``ru`` or ``en``.
    """

    route: RouteName
    confidence: float
    stage: Stage
    window: TimeWindow | None
    followup: bool
    language: str
    escalated: bool
    latency_ms: float
