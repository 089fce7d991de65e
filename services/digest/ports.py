"""Ports of the digest service: where posts come from, where runs and personas are kept,
and the verifier of drafts.

``adapters/postgres_posts.py`` and ``adapters/postgres_store.py`` implement the first two on
Postgres; unit tests use hand-written fakes (``tests/unit/digest/fakes.py``). Every method
that takes a tenant reads or writes that tenant's rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.digest.domain.model import Draft, Post
from services.digest.domain.persona import Persona
from services.digest.domain.verify import Verdict


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
