"""``trend.requested.v1``, ``trend.detected.v1`` and ``trend.reported.v1``."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from contracts.base import ContractModel
from contracts.fields import (
    UNIQUE_ITEMS,
    ChannelId,
    Count,
    Id,
    Name,
    Score,
    Term,
    UtcDatetime,
    unique_items,
)
from contracts.v1.common import PostRef

TrendKind = Literal["emerging", "stable"]


class ReportTrends(ContractModel):
    """Report the current trends, at most ``limit`` (command).

    Answered by exactly one ``TrendsReported`` carrying this ``request_id`` (its list may be
    empty): to the request's ``reply-to`` topic when it names one, else on
    ``trend.reported.v1``.
    """

    request_id: Id
    user_id: Id | None = None
    channels: Annotated[list[ChannelId], Field(max_length=100)] | None = None
    """Restrict to these channels; all of the tenant's when absent."""
    kinds: Annotated[
        list[TrendKind],
        Field(min_length=1, max_length=2, json_schema_extra=UNIQUE_ITEMS),
        AfterValidator(unique_items),
    ] = Field(default=["emerging", "stable"])
    limit: int = Field(default=10, ge=1, le=50)
    persona_id: Id | None = None


class TrendDetected(ContractModel):
    """A story whose rate bursts above its own baseline across channels (event).

    ``emerging``: new in the window; ``stable``: present before and still high. Every
    representative post lies in ``[window_start, window_end]`` (``window_start <=
    window_end`` is checked by the model only). ``request_id`` is set when this answers a
    ``ReportTrends``; unsolicited detections leave it empty.
    """

    trend_id: Id
    """Stable for one story: the same trend seen again keeps its id."""
    kind: TrendKind
    headline: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    why_now: Annotated[str, StringConstraints(max_length=300)]
    keywords: Annotated[list[Term], Field(max_length=50)] = Field(default_factory=list)
    entities: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    representative_posts: Annotated[list[PostRef], Field(max_length=20)]
    channels: Annotated[list[ChannelId], Field(min_length=1, max_length=100)]
    burst_score: Score
    """Window rate over baseline rate; above 1 means bursting."""
    first_seen_at: UtcDatetime
    window_start: UtcDatetime
    window_end: UtcDatetime
    post_count: Count
    request_id: Id | None = None

    @model_validator(mode="after")
    def _window_ordered(self) -> Self:
        if self.window_start > self.window_end:
            raise ValueError("window_start must not be after window_end")
        return self


class TrendsReported(ContractModel):
    """The answer to one ``ReportTrends``: the tenant's current trends (event).

    Exactly one per request, also when nothing trends (``trends`` is then empty), so a
    requester never has to guess whether more replies are coming. ``trends`` holds emerging
    trends first (most significant first), then stable ones (largest first), at most the
    request's ``limit``, re-ranked for the persona when one was given; each carries the
    ``request_id``. A redelivered request is answered again with the same event id.
    """

    request_id: Id
    trends: Annotated[list[TrendDetected], Field(max_length=50)] = Field(default_factory=list)
    as_of: UtcDatetime | None = None
    """The tenant's event-time clock when answered (its newest processed post); ``None``
    when no post of the tenant was processed yet."""
