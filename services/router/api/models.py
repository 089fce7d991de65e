"""Request and response bodies of the gateway (they make the published OpenAPI).

Request bodies refuse unknown fields, so a typo never silently widens a request, and a body
that names a tenant or user is refused with a message saying where those come from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from contracts.fields import (
    ChannelId,
    Id,
    LanguageCode,
    UtcDatetime,
)
from contracts.v1.common import Citation, Usage
from contracts.v1.digest import DigestFormat, GenerateDigest
from contracts.v1.queries import Budget as RequestBudget
from contracts.v1.queries import QueryStatus, Route
from contracts.v1.trend import TrendDetected
from services.router.domain.model import QosLevel, RunKind, RunStatus

MAX_QUERY_CHARS = 2000
_IDENTITY_FIELDS = ("tenant_id", "tenant", "user_id", "user")

QueryText = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$"
    ),
    Field(
        description=f"The question, 1..{MAX_QUERY_CHARS} characters, not blank, no NUL.",
        examples=["Что писали о ставках по вкладам на этой неделе?"],
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_identity(cls, data: Any) -> Any:
        if isinstance(data, dict):
            named = [f for f in _IDENTITY_FIELDS if f in data]
            if named:
                raise ValueError(
                    f"{', '.join(named)} must not be sent: the tenant and the user are taken "
                    "from your credential"
                )
        return data


class QueryRequest(_Body):
    """A question for ``POST /v1/rag/query``."""

    text: QueryText
    query_id: Id | None = Field(default=None, description="Your id for the question.")
    language: LanguageCode | None = Field(
        default=None, description="Answer language; guessed from the text when absent."
    )
    channels: Annotated[list[ChannelId], Field(max_length=100)] | None = Field(
        default=None, description="Only posts of these channels (ids or usernames)."
    )
    since: UtcDatetime | None = Field(default=None, description="Only posts at or after this.")
    until: UtcDatetime | None = Field(default=None, description="Only posts before this.")
    qos: QosLevel = Field(
        default="auto",
        description="fast: always answer now; smart: digests and trends go to the smart "
        "path (202); auto: the router decides.",
    )
    budget: RequestBudget | None = Field(
        default=None, description="Lower limits for this request (never above the server's)."
    )
    persona_id: Id | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class SourceOut(BaseModel):
    """A cited post: ``[n]`` in the answer."""

    n: int
    post_id: str
    channel_id: str
    channel_title: str | None
    message_id: int
    date: datetime
    permalink: str
    quote: str | None


class WindowOut(BaseModel):
    """The period the answer covers."""

    since: datetime | None
    until: datetime | None
    label: str


class QueryResponse(BaseModel):
    """A synchronous answer (200)."""

    query_id: str
    run_id: str
    route: Route
    status: QueryStatus
    answer: str = Field(description="Text with [n] markers after every sentence.")
    sources: list[SourceOut]
    usage: Usage
    latency_ms: int
    degraded: list[str] = Field(description="Parts skipped (llm, budget, retrieval.<leg>…).")
    qos_level: QosLevel
    mode: Literal["llm", "extractive", "fixed", "none"]
    language: str
    window: WindowOut | None
    followup: bool
    route_stage: str
    route_confidence: float
    timings_ms: dict[str, float] = Field(description="Milliseconds per hop, and total.")


class AcceptedResponse(BaseModel):
    """A request the smart path took (202): poll ``location``."""

    run_id: str
    query_id: str | None = None
    route: Route
    status: RunStatus
    answer: str
    location: str


class RunOut(BaseModel):
    """A run: a fast answer, a digest or a trend report."""

    run_id: str
    kind: RunKind
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    request: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None


class DigestRequest(_Body):
    """``POST /v1/digests``: a channel digest over 1/7/30 days or a group digest over a
    4/6/12/24-hour window (same rules as ``digest.requested.v1``)."""

    kind: Literal["channel", "group"]
    channels: Annotated[list[ChannelId], Field(min_length=1, max_length=100)]
    period_days: Literal[1, 7, 30] | None = None
    window_hours: Literal[4, 6, 12, 24] | None = None
    until: UtcDatetime | None = None
    mode: Literal["fast", "smart"] = "smart"
    language: LanguageCode | None = None
    formats: Annotated[list[DigestFormat], Field(min_length=1, max_length=2)] = Field(
        default=["markdown"]
    )
    persona_id: Id | None = None

    @model_validator(mode="after")
    def _as_contract(self) -> Self:
        try:
            self.command("check", "check")  # the contract's own rules
        except ValidationError as exc:
            raise ValueError(
                "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            ) from None
        return self

    def command(self, run_id: str, user_id: str) -> GenerateDigest:
        """The ``digest.requested.v1`` payload for this request."""
        return GenerateDigest(run_id=run_id, user_id=user_id, **self.model_dump())


class TrendsResponse(BaseModel):
    """``GET /v1/trends``: what the trend service answered."""

    request_id: str
    trends: list[TrendDetected]
    answer: str | None = None
    citations: list[Citation] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: ``detail`` says what is wrong."""

    detail: Any
