"""Ports of the digest service: where posts come from, where runs, personas and schedules
are kept, the verifier of drafts, and where scheduled requests are published.

``adapters/postgres_posts.py``, ``adapters/postgres_store.py`` and
``adapters/postgres_schedules.py`` implement the stores on Postgres,
``adapters/kafka_requests.py`` the publication; unit tests use hand-written fakes
(``tests/unit/digest/fakes.py``, ``schedule_fakes.py``). Every method that takes a tenant
reads or writes that tenant's rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from contracts.v1.digest import GenerateDigest
from services.digest.domain.model import Draft, Post
from services.digest.domain.persona import Persona
from services.digest.domain.verify import Verdict
from services.digest.schedules.model import Firing, Schedule, ScheduleSpec


class PostSource(Protocol):
    """The canonical posts (read only)."""

    async def window(
        self,
        tenant_id: str,
        channels: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        limit: int,
    ) -> list[Post]:
        """Posts of ``channels`` dated in ``[since, until)``, oldest first, at most ``limit``
        (the newest are kept when there are more). Raises ``StoreUnavailable``."""
        ...

    async def by_ids(self, tenant_id: str, post_ids: Sequence[str]) -> list[Post]:
        """The posts that still exist among ``post_ids`` (any order)."""
        ...


@dataclass(frozen=True)
class StoredRun:
    """A run as stored: its status and manifest; ``result`` once it finished."""

    run_id: str
    status: str
    manifest: dict[str, Any]
    result: dict[str, Any] | None


class RunStore(Protocol):
    """Runs, their manifests, finished digests, personas."""

    async def load(self, tenant_id: str, run_id: str) -> StoredRun | None:
        """The run, or None when it never started."""
        ...

    async def save_manifest(
        self,
        tenant_id: str,
        run_id: str,
        user_id: str,
        request: dict[str, Any],
        manifest: bytes,
    ) -> None:
        """Create or update the running run's manifest (already encoded and capped)."""
        ...

    async def finish(
        self, tenant_id: str, run_id: str, status: str, manifest: bytes, result: dict[str, Any]
    ) -> None:
        """Store the result and final manifest together (one transaction)."""
        ...

    async def persona(self, tenant_id: str, persona_id: str) -> Persona | None:
        """The stored persona, or None."""
        ...


class DraftVerifier(Protocol):
    """Checks one draft. Raising means the draft failed (never that it passed)."""

    async def __call__(self, draft: Draft, markdown: str, telegram_html: str) -> Verdict:
        """The verdict on ``draft`` (rendered as given)."""
        ...


class DueSchedules(Protocol):
    """The schedules one claim holds: nobody else fires them until the claim ends."""

    schedules: Sequence[Schedule]

    async def advance(self, schedule: Schedule, firing: Firing) -> None:
        """Record that ``firing`` was published: ``next_due_at`` moves to its next slot.
        Takes effect when the claim ends without an error (one transaction)."""
        ...


class ScheduleStore(Protocol):
    """Digest schedules, always by tenant except the claim of due ones."""

    async def add(
        self, tenant_id: str, spec: ScheduleSpec, *, schedule_id: str, next_due_at: datetime
    ) -> Schedule:
        """Store a new schedule. Raises ``ScheduleExists`` when the user already has one
        of that name."""
        ...

    async def list(self, tenant_id: str, user_id: str | None = None) -> list[Schedule]:
        """The tenant's schedules (of one user when given), by user and name."""
        ...

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule | None:
        """One schedule of the tenant, or None."""
        ...

    async def remove(self, tenant_id: str, schedule_id: str) -> bool:
        """Delete a schedule of the tenant; False when there was none."""
        ...

    async def set_enabled(
        self, tenant_id: str, schedule_id: str, enabled: bool, *, next_due_at: datetime
    ) -> Schedule | None:
        """Enable or disable; enabling a disabled schedule sets ``next_due_at`` (the slots
        it slept through are not run). None when the tenant has no such schedule."""
        ...

    def claim_due(
        self, now: datetime, *, limit: int, hold_s: float
    ) -> AbstractAsyncContextManager[DueSchedules]:
        """Lock up to ``limit`` enabled schedules due at ``now`` (oldest first) that no other
        claim holds (``FOR UPDATE SKIP LOCKED``), for at most ``hold_s`` seconds; commit the
        advances on a clean exit, roll back on an error. Raises ``StoreUnavailable``."""
        ...

    async def oldest_due(self, now: datetime) -> datetime | None:
        """``next_due_at`` of the oldest enabled schedule due at ``now``, or None."""
        ...


class DigestRequests(Protocol):
    """Where scheduled ``digest.requested.v1`` commands go."""

    async def request(
        self, tenant_id: str, command: GenerateDigest, *, event_id: str, occurred_at: datetime
    ) -> None:
        """Publish ``command`` with this event id and wait for the broker's acknowledgement;
        raises when it was not acknowledged in time (the caller retries the same id)."""
        ...
