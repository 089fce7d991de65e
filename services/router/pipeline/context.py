"""Small conversions between the pipeline, the context router and the contracts."""

from __future__ import annotations

from typing import Final, cast

from contracts.v1.common import Usage
from contracts.v1.queries import Route
from servicekit.llm import Budget
from services.router.domain.model import Window
from services.router.pipeline.model import QueryInput
from services.router.routing import TimeWindow

ROUTES: Final = frozenset({"qa", "digest", "trend", "memory", "help", "unsupported"})

NO_LLM: Final = Budget(max_llm_calls=0, max_tokens=0, max_agent_steps=0)
"""Passed to the answerer when the budget refused the answer step: extractive only."""


def usage(budget: Budget, answer_in: int, answer_out: int) -> Usage:
    """The request's usage as the contract reports it."""
    # The budget knows the request's total tokens; the answer call's split is known, the
    # router's classifier call (if any) is counted as prompt tokens.
    other = max(0, budget.tokens - answer_in - answer_out)
    return Usage(
        llm_calls=budget.llm_calls,
        tokens_in=answer_in + other,
        tokens_out=answer_out,
        agent_steps=budget.agent_steps,
    )


def as_route(value: str) -> Route | None:
    """``value`` as a route name, or None when it is not one."""
    return cast(Route, value) if value in ROUTES else None


def window_of(query: QueryInput, decided: TimeWindow | None) -> Window | None:
    """The caller's explicit bounds win over the router's reading of the text."""
    if query.since or query.until:
        return Window(query.since, query.until, "")
    if decided is None:
        return None
    return Window(decided.since, decided.until, decided.label)


def time_window(window: Window | None) -> TimeWindow | None:
    """A stored window as the context router's type."""
    if window is None:
        return None
    return TimeWindow(since=window.since, until=window.until, label=window.label)
