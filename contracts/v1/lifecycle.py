"""``lifecycle.v1``: what happened in a pipeline run, for episodic memory."""

from typing import Annotated, Final, Literal

from pydantic import Field, JsonValue, StringConstraints, field_validator
from pydantic_core import to_json

from contracts.base import ContractModel
from contracts.fields import Id, ServiceName

MAX_DETAILS_BYTES: Final = 4096

LifecycleKind = Literal["run_started", "run_completed", "error", "retry", "quality_low"]


class LifecycleEvent(ContractModel):
    """One step in the life of a run, emitted by every service (event).

    A run emits ``run_started`` once, then any number of ``retry``/``error``/``quality_low``,
    then ``run_completed`` unless it failed for good. Producers derive ``event_id`` from the
    run and step (``derived_event_id``), so a redelivery re-emits the same event and memory
    stores it once. ``details`` is JSON whose compact UTF-8 encoding is at most 4096 bytes
    (the model checks the size; the JSON Schema cannot).
    """

    run_id: Id
    kind: LifecycleKind
    service: ServiceName
    domain: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """What the run was about: ``qa``, ``digest``, ``trend``, ``indexing``, ``dlq``…"""
    user_id: Id | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)
    """Small, JSON-encodable facts about the step; at most 4096 bytes encoded."""

    @field_validator("details")
    @classmethod
    def _details_fit(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        size = len(to_json(value))
        if size > MAX_DETAILS_BYTES:
            raise ValueError(f"details encode to {size} bytes, more than {MAX_DETAILS_BYTES}")
        return value
