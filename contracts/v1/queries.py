"""``queries.requested.v1`` and ``queries.answered.v1``."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from contracts.base import ContractModel
from contracts.fields import (
    ChannelId,
    Id,
    LanguageCode,
    Millis,
    QueryText,
    Term,
    UtcDatetime,
)
from contracts.v1.common import Citation, Usage

Route = Literal["qa", "digest", "trend", "memory", "help", "unsupported"]
QueryStatus = Literal["answered", "accepted", "no_results", "rejected", "failed"]


class Budget(ContractModel):
    """Upper limits for one request; exceeding one degrades the answer, it never fails it."""

    max_llm_calls: int = Field(default=8, ge=0, le=100)
    """0 means: answer without any LLM (extractive)."""
    max_tokens: int = Field(default=16_000, ge=0, le=1_000_000)
    """Prompt plus completion tokens over all calls."""
    max_agent_steps: int = Field(default=10, ge=1, le=50)


class AnswerQuery(ContractModel):
    """A user's question or request in natural language (command).

    The router decides the route. ``since``/``until`` bound the posts considered
    (``since <= until``, checked by the model only); ``channels`` restricts them.
    """

    query_id: Id
    """Chosen by the requester; the answer carries it back."""
    user_id: Id
    text: QueryText
    language: LanguageCode | None = None
    channels: Annotated[list[ChannelId], Field(max_length=100)] | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    persona_id: Id | None = None
    budget: Budget | None = None
    """Limits for this request; the router's defaults when absent."""

    @model_validator(mode="after")
    def _since_before_until(self) -> Self:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class QueryAnswered(ContractModel):
    """The outcome of one ``AnswerQuery`` (event), exactly one per ``query_id`` and route.

    ``status="accepted"`` means the smart path took the request: ``run_id`` is set and the
    result follows as a ``digest.completed.v1`` or ``trend.detected.v1`` event. Every citation
    resolves to a stored post of the same tenant.
    """

    query_id: Id
    user_id: Id
    route: Route
    status: QueryStatus
    answer: Annotated[str, Field(max_length=16_384)]
    """Plain text or Markdown; empty when there is nothing to say (``no_results``)."""
    citations: Annotated[list[Citation], Field(max_length=50)] = Field(default_factory=list)
    run_id: Id | None = None
    usage: Usage
    latency_ms: Millis
    """From receiving the query to publishing this answer."""
    degraded_legs: Annotated[list[Term], Field(max_length=10)] = Field(default_factory=list)
    """Parts that were unavailable and skipped (a retrieval leg, the LLM…)."""
