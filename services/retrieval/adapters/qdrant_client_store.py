"""VectorStore on qdrant-client: a Qdrant server (``url=``) or qdrant-client's local mode.

Local mode (``location=":memory:"`` or ``path=``) is brute force and ignores payload indexes;
it is what the unit tests run. Only ``query_points`` is used (``search`` is gone since 1.16).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from qdrant_client import AsyncQdrantClient, models

from services.retrieval.adapters import qdrant_payload as qp
from services.retrieval.domain.model import Hit, IndexedPoint, SearchFilters, SparseVector

_BATCH: Final = 256


class QdrantClientStore:
    """:class:`~services.retrieval.ports.VectorStore` on one collection ``posts__<model>``.

    Guarantees: every read carries a ``tenant_id`` filter (an empty tenant raises
    ``ValueError``); a filter that matches nothing yields ``[]``, never unfiltered results;
    sparse scores use IDF computed over the tenant's own points only, so one tenant's corpus
    never changes another's ranking. Errors of the client (connection, 4xx/5xx,
    ``ValueError`` for a missing collection in local mode) propagate unchanged.
    """

    def __init__(self, client: AsyncQdrantClient, *, model_name: str) -> None:
        self._client = client
        self.collection = qp.collection_name(model_name)

    @classmethod
    def connect(
        cls,
        *,
        model_name: str,
        url: str | None = None,
        location: str | None = None,
        path: str | None = None,
        api_key: str | None = None,
        timeout_s: int = 10,
    ) -> QdrantClientStore:
        """A store on a server (``url``) or in local mode (``location=":memory:"``/``path``)."""
        client = AsyncQdrantClient(
            url=url, location=location, path=path, api_key=api_key, timeout=timeout_s
        )
        return cls(client, model_name=model_name)

    async def ensure_collection(self, dim: int) -> None:
        """Create the collection and its payload indexes if missing.

        Raises ``ValueError`` if the collection exists with another dense dimension.
        """
        if not await self._client.collection_exists(self.collection):
            try:
                await self._client.create_collection(
                    self.collection,
                    vectors_config={
                        qp.DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={
                        qp.SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                )
            except Exception:
                # Another replica may have created it between the check and the create.
                if not await self._client.collection_exists(self.collection):
                    raise
        await self._check_dim(dim)
        await self._create_indexes()

    async def _check_dim(self, dim: int) -> None:
        info = await self._client.get_collection(self.collection)
        vectors = info.config.params.vectors
        size = vectors[qp.DENSE].size if isinstance(vectors, dict) else None
        if size != dim:
            raise ValueError(f"collection {self.collection} has dense size {size}, not {dim}")

    async def _create_indexes(self) -> None:
        # Re-creating an existing index is a no-op on the server; in local mode these only warn.
        schema: list[tuple[str, models.PayloadSchemaType | models.KeywordIndexParams]] = [
            (
                "tenant_id",
                models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
            ),
            ("date", models.PayloadSchemaType.DATETIME),
            *((name, models.PayloadSchemaType.KEYWORD) for name in qp.KEYWORD_FIELDS),
        ]
        for field, field_schema in schema:
            await self._client.create_payload_index(
                self.collection, field, field_schema=field_schema, wait=True
            )

    async def upsert(self, points: Sequence[IndexedPoint]) -> None:
        """Insert or replace points (by tenant and post id), in batches of 256."""
        structs = [
            models.PointStruct(
                id=qp.point_id(p.post.tenant_id, p.post.post_id),
                vector={
                    qp.DENSE: list(p.dense),
                    qp.SPARSE: models.SparseVector(
                        indices=list(p.sparse.indices), values=list(p.sparse.values)
                    ),
                },
                payload=qp.payload(p.post),
            )
            for p in points
        ]
        for start in range(0, len(structs), _BATCH):
            await self._client.upsert(self.collection, structs[start : start + _BATCH], wait=True)

    async def delete(self, tenant_id: str, post_ids: Sequence[str]) -> None:
        """Delete the tenant's points with these post ids; unknown ids are ignored."""
        if not post_ids:
            return
        ids: list[models.ExtendedPointId] = [qp.point_id(tenant_id, pid) for pid in post_ids]
        selector = models.Filter(must=[_tenant(tenant_id), models.HasIdCondition(has_id=ids)])
        await self._client.delete(
            self.collection, points_selector=models.FilterSelector(filter=selector), wait=True
        )

    async def search_dense(
        self, vector: Sequence[float], filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        """Cosine nearest neighbours among points passing ``filters``, best first."""
        if limit <= 0:
            return []
        response = await self._client.query_points(
            self.collection,
            query=list(vector),
            using=qp.DENSE,
            query_filter=_filter(filters),
            limit=limit,
            with_payload=qp.selector(light),
        )
        return [qp.hit(p.payload, p.score, "dense", light=light) for p in response.points]

    async def search_sparse(
        self, vector: SparseVector, filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        """IDF-weighted dot product among points passing ``filters``, best first."""
        if limit <= 0 or not vector.indices:
            return []
        tenant_only = models.Filter(must=[_tenant(filters.tenant_id)])
        response = await self._client.query_points(
            self.collection,
            query=models.SparseVector(indices=list(vector.indices), values=list(vector.values)),
            using=qp.SPARSE,
            query_filter=_filter(filters),
            search_params=models.SearchParams(idf=models.IdfCorpusParams(corpus=tenant_only)),
            limit=limit,
            with_payload=qp.selector(light),
        )
        return [qp.hit(p.payload, p.score, "sparse", light=light) for p in response.points]

    async def fetch(
        self, filters: SearchFilters, post_ids: Sequence[str], *, light: bool = False
    ) -> list[Hit]:
        """Payloads of those posts that pass ``filters``, in the order asked, score 0."""
        wanted = list(dict.fromkeys(post_ids))
        if not wanted:
            return []
        ids: list[models.ExtendedPointId] = [qp.point_id(filters.tenant_id, pid) for pid in wanted]
        records, _ = await self._client.scroll(
            self.collection,
            scroll_filter=_filter(filters, models.HasIdCondition(has_id=ids)),
            limit=len(ids),
            with_payload=qp.selector(light),
        )
        return qp.ordered([qp.hit(r.payload, 0.0, "graph", light=light) for r in records], wanted)

    async def ping(self) -> None:
        """Raise unless the server answers and the collection exists."""
        await self._client.get_collection(self.collection)

    async def close(self) -> None:
        """Close the client (the store owns it)."""
        await self._client.close()


def _tenant(tenant_id: str) -> models.FieldCondition:
    return models.FieldCondition(
        key="tenant_id", match=models.MatchValue(value=qp.require_tenant(tenant_id))
    )


def _filter(filters: SearchFilters, *extra: models.Condition) -> models.Filter:
    """The tenant condition always, then each optional one; never an empty filter."""
    must: list[models.Condition] = [_tenant(filters.tenant_id), *extra]
    if filters.channels:
        must.append(
            models.FieldCondition(
                key="channel_id", match=models.MatchAny(any=list(filters.channels))
            )
        )
    since, until = qp.date_bounds(filters)
    if since is not None or until is not None:
        must.append(
            models.FieldCondition(key="date", range=models.DatetimeRange(gte=since, lte=until))
        )
    if filters.languages:
        must.append(
            models.FieldCondition(
                key="language", match=models.MatchAny(any=list(filters.languages))
            )
        )
    if filters.chat_kind is not None:
        must.append(
            models.FieldCondition(key="chat_kind", match=models.MatchValue(value=filters.chat_kind))
        )
    return models.Filter(must=must)
