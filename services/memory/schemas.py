"""The read API's wire models, shared by the API and by :mod:`services.memory.client`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from contracts.v1.lifecycle import LifecycleKind


class EpisodeOut(BaseModel):
    """One stored lifecycle event."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    event_id: str
    """The lifecycle event's id (UUIDv7)."""
    tenant_id: str
    run_id: str
    kind: LifecycleKind
    service: str
    """The service that emitted it."""
    domain: str
    """What the run was about: ``qa``, ``digest``, ``trend``, ``indexing``, ``dlq``…"""
    user_id: str | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)
    occurred_at: datetime
    """When it happened (UTC)."""
    recorded_at: datetime
    """When memory stored it (UTC)."""


class EpisodePage(BaseModel):
    """One page of a listing; follow ``next_cursor`` for the next."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    items: list[EpisodeOut]
    next_cursor: str | None = None
    """Pass back as ``cursor`` to get the next page; null when this page is the last."""
    limit: int
    """The page size that applied (at most 1000)."""
