"""What a schedule is, and what firing one of its slots publishes.

``ScheduleSpec`` is what a caller gives (REST body, CLI flags): validated with the
contract's own rules for ``digest.requested.v1`` (1/7/30 days for a channel digest, 4/6/12/24
hours for a group digest) and a cadence that parses in its time zone, so nothing invalid is
ever written. ``Schedule`` is a stored one. ``fire`` turns a due schedule into its request:
one slot (the latest passed, however many were missed), a run id and event id that derive
from (schedule id, slot) only, and the next slot after now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.envelope import derived_event_id
from contracts.fields import (
    TENANT_PATTERN,
    ChannelId,
    Id,
    LanguageCode,
    UtcDatetime,
    unique_items,
)
from contracts.v1.digest import DigestFormat, GenerateDigest
from services.digest.domain.cadence import MAX_TEXT, Cadence, CadenceError, zone_of

ScheduleName = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]
"""1..64 characters: letters, digits, ``_.-``, not starting with punctuation."""
RUN_ID_PREFIX = "sched-"


class ScheduleSpec(BaseModel):
    """A digest of ``channels`` to request for ``user_id`` on ``cadence`` (in ``timezone``).

    Exactly one of ``period_days`` (``kind="channel"``) and ``window_hours`` (``kind="group"``),
    as in ``digest.requested.v1``; each slot's digest covers the period or window ending at
    the slot. ``persona_id`` defaults to the user's own persona (stored under the user id).
    Raises ``pydantic.ValidationError`` with a message per bad field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: Id
    name: ScheduleName
    kind: Literal["channel", "group"]
    channels: Annotated[
        list[ChannelId], Field(min_length=1, max_length=100), AfterValidator(unique_items)
    ]
    period_days: Literal[1, 7, 30] | None = None
    window_hours: Literal[4, 6, 12, 24] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    """IANA time zone of the cadence (``Europe/Moscow``)."""
    cadence: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
    """``daily HH:MM[,HH:MM…]``, ``weekly mon[,thu…] HH:MM[,…]`` or ``every Nh`` (N divides
    24), local time; stored in canonical form."""
    persona_id: Id | None = None
    mode: Literal["fast", "smart"] = "smart"
    language: LanguageCode | None = None
    formats: Annotated[
        list[DigestFormat], Field(min_length=1, max_length=2), AfterValidator(unique_items)
    ] = Field(default=["markdown"])
    enabled: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_of(value)  # CadenceError is a ValueError: pydantic reports its message
        return value

    @field_validator("cadence")
    @classmethod
    def _canonical_cadence(cls, value: str, info: ValidationInfo) -> str:
        return Cadence.parse(value, info.data.get("timezone", "UTC")).text

    @model_validator(mode="after")
    def _as_contract(self) -> Self:
        try:
            self.command("check", until=None)  # the contract's own rules
        except ValidationError as exc:
            raise ValueError(
                "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            ) from None
        return self

    def rule(self) -> Cadence:
        """The parsed cadence in its zone."""
        return Cadence.parse(self.cadence, self.timezone)

    def command(self, run_id: str, *, until: datetime | None) -> GenerateDigest:
        """The ``digest.requested.v1`` payload of one slot."""
        return GenerateDigest(
            run_id=run_id,
            user_id=self.user_id,
            kind=self.kind,
            channels=list(self.channels),
            period_days=self.period_days,
            window_hours=self.window_hours,
            until=until,
            mode=self.mode,
            persona_id=self.persona_id or self.user_id,
            language=self.language,
            formats=list(self.formats),
        )


class Schedule(ScheduleSpec):
    """A stored schedule: the spec plus its id, tenant and bookkeeping."""

    schedule_id: str
    tenant_id: str
    next_due_at: UtcDatetime
    created_at: UtcDatetime
    updated_at: UtcDatetime
    last_slot_at: UtcDatetime | None = None
    last_run_id: str | None = None


class ScheduleList(BaseModel):
    """``GET /v1/schedules``."""

    items: list[Schedule]


@dataclass(frozen=True)
class Firing:
    """What firing a due schedule at ``now`` publishes and stores."""

    slot: datetime
    run_id: str
    event_id: str
    command: GenerateDigest
    next_due_at: datetime
    missed: int
    """Slots before ``slot`` that passed unfired (collapsed into this one)."""


def slot_run_id(schedule_id: str, slot: datetime) -> str:
    """The run id of a schedule's slot: the same for every replica and every retry."""
    return f"{RUN_ID_PREFIX}{schedule_id}-{slot:%Y%m%dT%H%M%SZ}"


def fire(schedule: Schedule, now: datetime) -> Firing:
    """The request of the latest slot at or before ``now`` (never before ``next_due_at``).
    Missed slots are not run one by one: only the latest is, and ``missed`` counts the rest.
    Raises ``CadenceError`` when the stored cadence no longer parses (a zone removed)."""
    rule = schedule.rule()
    slot = max(rule.latest_at_or_before(now), schedule.next_due_at)
    run_id = slot_run_id(schedule.schedule_id, slot)
    return Firing(
        slot=slot,
        run_id=run_id,
        event_id=derived_event_id(slot, "digest.schedule", schedule.schedule_id, run_id),
        command=schedule.command(run_id, until=slot),
        next_due_at=rule.next_after(now),
        missed=rule.count_between(schedule.next_due_at, slot),
    )


__all__ = [
    "CadenceError",
    "Firing",
    "Schedule",
    "ScheduleList",
    "ScheduleSpec",
    "fire",
    "slot_run_id",
]
