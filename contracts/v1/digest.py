"""``digest.requested.v1`` and ``digest.completed.v1``."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from contracts.base import ContractModel
from contracts.fields import (
    UNIQUE_ITEMS,
    ChannelId,
    Id,
    LanguageCode,
    Term,
    UnitScore,
    UtcDatetime,
    unique_items,
)
from contracts.v1.common import Citation, Usage

DigestFormat = Literal["markdown", "telegram_html"]


class GenerateDigest(ContractModel):
    """Write a digest of channels over a period, or of group chats over a window (command).

    Exactly one of ``period_days`` (``kind="channel"``) and ``window_hours``
    (``kind="group"``) is set; the model enforces it, the JSON Schema only lists both as
    optional. The digest covers the period or window ending at ``until`` (default: now).
    The result is one ``DigestCompleted`` with the same ``run_id``.
    """

    run_id: Id
    user_id: Id
    kind: Literal["channel", "group"]
    channels: Annotated[list[ChannelId], Field(min_length=1, max_length=100)]
    """Channel ids, or group chat ids for a group digest."""
    period_days: Literal[1, 7, 30] | None = None
    window_hours: Literal[4, 6, 12, 24] | None = None
    until: UtcDatetime | None = None
    mode: Literal["fast", "smart"] = "smart"
    """``smart`` plans, verifies and may correct once; ``fast`` is one extractive pass."""
    persona_id: Id | None = None
    language: LanguageCode | None = None
    """Language to write in; the language of the posts when absent."""
    formats: Annotated[
        list[DigestFormat],
        Field(min_length=1, max_length=2, json_schema_extra=UNIQUE_ITEMS),
        AfterValidator(unique_items),
    ] = Field(default=["markdown"])

    @model_validator(mode="after")
    def _window_matches_kind(self) -> Self:
        if self.kind == "channel" and (self.period_days is None or self.window_hours):
            raise ValueError("a channel digest needs period_days and no window_hours")
        if self.kind == "group" and (self.window_hours is None or self.period_days):
            raise ValueError("a group digest needs window_hours and no period_days")
        return self


class DigestItem(ContractModel):
    """One story of a digest with all the posts it was written from."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    summary: Annotated[str, StringConstraints(max_length=4000)]
    topic: Term | None = None
    citations: Annotated[list[Citation], Field(max_length=50)] = Field(default_factory=list)


class DigestCompleted(ContractModel):
    """The outcome of one ``GenerateDigest`` (event).

    ``completed``: the digest passed verification; ``quality_low``: it is delivered but scored
    below the threshold after one correction; ``failed``: no digest, ``items`` is empty.
    Only the formats requested are filled. ``manifest_id`` names the run manifest.
    """

    run_id: Id
    user_id: Id
    status: Literal["completed", "quality_low", "failed"]
    quality_score: UnitScore | None = None
    markdown: Annotated[str, StringConstraints(max_length=65_536)] | None = None
    telegram_html: Annotated[str, StringConstraints(max_length=4096)] | None = None
    """Fits one Telegram message (4096 characters)."""
    items: Annotated[list[DigestItem], Field(max_length=100)] = Field(default_factory=list)
    usage: Usage
    manifest_id: Id | None = None
