"""Ports of the retrieval service: what the domain needs from the outside world.

Adapters in ``adapters/`` implement them; unit tests use hand-written fakes. Every method that
reads takes the tenant (directly or in :class:`SearchFilters`) and must filter by it: a port
implementation that can return another tenant's post is a security bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.retrieval.domain.model import Hit, IndexedPoint, Post, SearchFilters, SparseVector


class Embedder(Protocol):
    """Dense text embeddings. ``model_name`` is part of the collection name, so a model change
    never mixes vectors of two models in one collection."""

    model_name: str
    dim: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalised vector per text, in order. Raises on provider failure."""
        ...


class SparseEncoder(Protocol):
    """The lexical leg: documents and queries as sparse term vectors (BM25-style)."""

    def encode_document(self, text: str, language: str) -> SparseVector:
        """Term-frequency weights of a document (saturated, length-normalised)."""
        ...

    def encode_query(self, text: str, language: str) -> SparseVector:
        """Query terms; the store applies IDF."""
        ...


class VectorStore(Protocol):
    """Dense + sparse vectors of posts with a filterable payload (tenant always)."""

    async def ensure_collection(self, dim: int) -> None:
        """Create the collection and payload indexes if missing (idempotent)."""
        ...

    async def upsert(self, points: Sequence[IndexedPoint]) -> None:
        """Insert or replace points by ``post_id`` (idempotent)."""
        ...

    async def delete(self, tenant_id: str, post_ids: Sequence[str]) -> None:
        """Remove points of ``tenant_id``; unknown ids are ignored."""
        ...

    async def search_dense(
        self, vector: Sequence[float], filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        """Nearest posts by cosine similarity, best first, filtered. ``light``: only
        ``post_id`` and ``duplicate_of`` need be filled (the rest may stay empty)."""
        ...

    async def search_sparse(
        self, vector: SparseVector, filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        """Best lexical matches (IDF-weighted dot product), best first, filtered; ``light`` as
        for :meth:`search_dense`."""
        ...

    async def fetch(
        self, filters: SearchFilters, post_ids: Sequence[str], *, light: bool = False
    ) -> list[Hit]:
        """Payloads of the given posts that pass ``filters`` (score 0, leg ``graph``), in the
        order asked; ``light`` as for :meth:`search_dense`."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot answer."""
        ...

    async def close(self) -> None: ...


class GraphStore(Protocol):
    """The entity graph: (:Channel)-[:POSTED]->(:Post)-[:MENTIONS]->(:Entity), REPLY_TO,
    FORWARDED_FROM; every node carries tenant_id; all queries parameterised."""

    async def ensure_schema(self) -> None:
        """Constraints and indexes (idempotent)."""
        ...

    async def write_posts(self, posts: Sequence[Post]) -> None:
        """Merge posts, their channels, entities and relations in batched ``UNWIND`` writes;
        an edited post replaces its MENTIONS."""
        ...

    async def delete_posts(self, tenant_id: str, post_ids: Sequence[str]) -> None: ...

    async def expand(
        self, tenant_id: str, post_ids: Sequence[str], *, depth: int, limit: int
    ) -> list[tuple[str, float]]:
        """Posts reachable from ``post_ids`` through shared entities (and replies) within
        ``depth`` hops, with a score (more shared entities, fewer hops → higher), best first,
        excluding the seeds. Never crosses tenants."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class PostRepository(Protocol):
    """Canonical posts in Postgres, keyed by (tenant_id, channel_id, message_id)."""

    async def upsert(self, posts: Sequence[Post]) -> dict[str, str]:
        """Insert or update; returns ``post_id -> "new" | "updated" | "unchanged"``.

        "unchanged" means the same content was already stored *and* marked fully indexed, so a
        re-run of the same file changes nothing while a batch that failed half-way through the
        stores is written again."""
        ...

    async def mark_indexed(self, keys: Sequence[tuple[str, str]]) -> None:
        """Record that ``(tenant_id, post_id)`` reached every store."""
        ...

    async def delete(
        self, tenant_id: str, channel_id: str, message_ids: Sequence[int]
    ) -> list[str]:
        """Delete posts; returns the post ids that existed."""
        ...

    async def find_near_duplicates(
        self, tenant_id: str, simhashes: Sequence[int], *, max_distance: int
    ) -> dict[int, str]:
        """For each SimHash, an earlier post of the tenant within ``max_distance`` bits, if any."""
        ...

    async def get(self, tenant_id: str, post_ids: Sequence[str]) -> list[Post]: ...

    async def ping(self) -> None: ...
