"""The context router: a query and its context in, a route and a time window out.

See :mod:`services.router.routing.router` for the stages and the cache, and
:mod:`services.router.routing.windows` for how time phrases are read.
"""

from services.router.routing.model import (
    ROUTES,
    RouteContext,
    RouteDecision,
    RouteName,
    Stage,
    TimeWindow,
)
from services.router.routing.router import ContextRouter

__all__ = [
    "ROUTES",
    "ContextRouter",
    "RouteContext",
    "RouteDecision",
    "RouteName",
    "Stage",
    "TimeWindow",
]
