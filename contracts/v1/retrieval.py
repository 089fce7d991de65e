"""``retrieval.requested.v1`` and ``retrieval.completed.v1``."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from contracts.base import ContractModel
from contracts.fields import (
    UNIQUE_ITEMS,
    ChannelId,
    Id,
    LanguageCode,
    MessageId,
    Millis,
    Name,
    PostId,
    QueryText,
    Score,
    Term,
    Url,
    UtcDatetime,
    unique_items,
)
from contracts.v1.common import ChatKind, Leg

Domain = Literal["qa", "digest", "trend"]


class RetrievalFilters(ContractModel):
    """Restrictions on the candidate posts; an absent filter does not restrict.

    ``since <= until`` is checked by the model only. The tenant always filters, implicitly.
    """

    channels: Annotated[list[ChannelId], Field(max_length=100)] | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    languages: Annotated[list[LanguageCode], Field(max_length=10)] | None = None
    chat_kind: ChatKind | None = None

    @model_validator(mode="after")
    def _since_before_until(self) -> Self:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class RetrieveDocuments(ContractModel):
    """Find the posts most relevant to ``query`` (command).

    The retrieval service may lower ``top_k`` and ``graph_depth`` to its per-domain limits
    (digest 30 / 2, trend 50 / 3). The reply is one ``DocumentsRetrieved`` with the same
    ``request_id``.
    """

    request_id: Id
    query: QueryText
    domain: Domain
    top_k: int = Field(default=10, ge=1, le=100)
    graph_depth: int = Field(default=1, ge=0, le=3)
    legs: Annotated[
        list[Leg],
        Field(min_length=1, max_length=3, json_schema_extra=UNIQUE_ITEMS),
        AfterValidator(unique_items),
    ] = Field(default=["dense", "sparse", "graph"])
    """Legs to run, each at most once; all three by default."""
    filters: RetrievalFilters = Field(default_factory=RetrievalFilters)


class RetrievedDocument(ContractModel):
    """One ranked post; ``score`` is the fused (RRF) score, higher is better."""

    post_id: PostId
    channel_id: ChannelId
    channel_title: Name | None = None
    message_id: MessageId
    date: UtcDatetime
    text: Annotated[str, Field(max_length=8192)]
    """The post text, cut to 8192 characters."""
    score: Score
    legs: Annotated[list[Term], Field(max_length=10)] = Field(default_factory=list)
    """Legs that found this post."""
    permalink: Url | None = None
    entities: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    """Normalised entity names mentioned in the post."""
    leg_scores: Annotated[dict[Term, float], Field(max_length=10)] = Field(default_factory=dict)
    """Each leg's own score for this post (dense cosine, sparse BM25, graph), for debugging."""
    duplicates: Annotated[list[PostId], Field(max_length=50)] = Field(default_factory=list)
    """Near-copies (reposts) folded into this document: the same story's other sources."""


class DocumentsRetrieved(ContractModel):
    """The answer to one ``RetrieveDocuments`` (event), documents best first.

    ``legs_run`` lists the legs that answered; ``degraded_legs`` those requested but
    unavailable, so an empty result with degraded legs is not "nothing found".
    """

    request_id: Id
    documents: Annotated[list[RetrievedDocument], Field(max_length=100)]
    legs_run: Annotated[list[Term], Field(max_length=10)]
    degraded_legs: Annotated[list[Term], Field(max_length=10)] = Field(default_factory=list)
    cache_hit: bool
    took_ms: Millis
