"""What goes into the query pipeline and what comes out, for REST and Kafka alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from contracts.v1.common import Citation, Usage
from contracts.v1.queries import Budget as RequestBudget
from contracts.v1.queries import QueryAnswered, QueryStatus, Route
from servicekit.llm import Budget
from services.router.domain.model import Principal, QosLevel, Source, Turn, Window
from services.router.domain.timings import Hops

PathType = Literal["fast_path", "smart_path"]
AnswerMode = Literal["llm", "extractive", "fixed", "none"]


@dataclass
class RunState:
    """What one request accumulates on its way through the pipeline."""

    principal: Principal
    query: QueryInput
    run_id: str
    hops: Hops
    budget: Budget
    degraded: list[str] = field(default_factory=list)
    history: list[Turn] = field(default_factory=list)


@dataclass(frozen=True)
class QueryInput:
    """One question, whoever sent it (tenant and user come from elsewhere: the credential or
    the trusted envelope)."""

    text: str
    query_id: str
    origin: Literal["rest", "kafka"]
    channels: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    language: str | None = None
    qos: QosLevel = "auto"
    budget: RequestBudget | None = None
    persona_id: str | None = None

    def as_request(self) -> dict[str, Any]:
        """The JSON stored with the run."""
        return {
            "text": self.text,
            "query_id": self.query_id,
            "origin": self.origin,
            "channels": list(self.channels) if self.channels else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "language": self.language,
            "qos": self.qos,
            "budget": self.budget.model_dump() if self.budget else None,
            "persona_id": self.persona_id,
        }


@dataclass
class Outcome:
    """The result of one query: an answer (fast path), or an accepted smart-path run."""

    run_id: str
    query_id: str
    route: Route
    status: QueryStatus
    answer: str
    language: str
    qos_requested: QosLevel
    path_type: PathType
    mode: AnswerMode
    usage: Usage
    latency_ms: int = 0
    sources: list[Source] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)
    window: Window | None = None
    followup: bool = False
    stage: str = ""
    confidence: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        """The smart path took the request; the result comes later under ``run_id``."""
        return self.status == "accepted"


def to_query_answered(outcome: Outcome, user_id: str) -> QueryAnswered:
    """The ``queries.answered.v1`` payload of ``outcome``."""
    return QueryAnswered(
        query_id=outcome.query_id,
        user_id=user_id,
        route=outcome.route,
        status=outcome.status,
        answer=outcome.answer[:16_384],
        citations=[
            Citation(
                post_id=s.post_id,
                channel_id=s.channel_id,
                message_id=s.message_id,
                permalink=s.permalink,
                quote=s.quote,
            )
            for s in outcome.sources[:50]
        ],
        run_id=outcome.run_id,
        usage=outcome.usage,
        latency_ms=min(outcome.latency_ms, 86_400_000),
        degraded_legs=outcome.degraded[:10],
    )


def source_json(source: Source) -> dict[str, Any]:
    """A cited source as JSON (the REST response and the stored run result)."""
    return {
        "n": source.n,
        "post_id": source.post_id,
        "channel_id": source.channel_id,
        "channel_title": source.channel_title,
        "message_id": source.message_id,
        "date": source.date.isoformat(),
        "permalink": source.permalink,
        "quote": source.quote,
    }


def run_result(outcome: Outcome, user_id: str) -> dict[str, Any]:
    """What a finished query stores as its run's result: the ``queries.answered.v1`` payload
    (re-published as is when a Kafka query is redelivered) and the full sources."""
    return {
        "answered": to_query_answered(outcome, user_id).model_dump(mode="json"),
        "sources": [source_json(s) for s in outcome.sources],
        "mode": outcome.mode,
        "qos_level": outcome.qos_requested,
    }
