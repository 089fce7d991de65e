"""VectorStore on Qdrant Edge: Qdrant's engine in-process, one ``EdgeShard`` per directory.

The engine is synchronous and not meant for concurrent callers, so every call runs on one
dedicated worker thread: calls are serialised by construction (even when an awaiting task
is cancelled mid-call, the next call still waits for the running one), and the event loop
never blocks on the engine.

The engine does not optimise in the background (merge segments, build the HNSW index); without
it a dense search compares the query with every point (2.3 ms instead of 1.1 ms over the
shipped dataset). :meth:`optimize_if_settled` runs it once enough points were written and
writing has paused; it holds the engine (and Python's GIL) while it runs, about 4 s for the
22 099 shipped posts, so it waits for a quiet moment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Final, TypeVar

import qdrant_edge as qe

from servicekit.logging import get_logger
from services.retrieval.adapters import qdrant_payload as qp
from services.retrieval.domain.model import Hit, IndexedPoint, SearchFilters, SparseVector

_T = TypeVar("_T")
_BATCH: Final = 1024
_CONFIG_FILE: Final = "edge_config.json"
_log = get_logger(__name__)


class QdrantEdgeStore:
    """:class:`~services.retrieval.ports.VectorStore` on a shard ``<root>/posts__<model>``.

    Guarantees: the same as :class:`~.qdrant_client_store.QdrantClientStore` (tenant filter on
    every read, ``[]`` when filters match nothing, tenant-scoped IDF), with real payload indexes
    (tenant keyword with ``is_tenant``, channel, language, chat kind, datetime ``date``).
    Raises ``RuntimeError`` when used before :meth:`ensure_collection` or after :meth:`close`,
    ``ValueError`` if the shard on disk has another dimension; engine errors propagate as the
    engine raises them. Only one process may open a shard (the engine locks its WAL).
    """

    def __init__(self, root: Path | str, *, model_name: str) -> None:
        self.collection = qp.collection_name(model_name)
        self.path = Path(root) / self.collection
        self._shard: qe.EdgeShard | None = None
        self._dim = 0
        self._closed = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant-edge")
        self._unoptimized = 0  # points written since the last optimisation (or found at open)
        self._last_write = 0.0

    async def _run(self, call: Callable[[], _T]) -> _T:
        if self._closed:
            raise RuntimeError("qdrant edge store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    def _require(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError("qdrant edge store used before ensure_collection()")
        return self._shard

    async def ensure_collection(self, dim: int) -> None:
        """Create or open the shard, check its dimension, create missing payload indexes."""
        await self._run(lambda: self._open(dim))

    def _open(self, dim: int) -> None:
        if self._shard is not None:
            if dim != self._dim:
                raise ValueError(
                    f"shard {self.path} is open with dense size {self._dim}, not {dim}"
                )
            return
        config = qe.EdgeConfig(
            vectors={qp.DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={qp.SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        if (self.path / _CONFIG_FILE).exists():
            try:
                shard = qe.EdgeShard.load(str(self.path), config)
            except Exception as exc:  # the engine raises a bare Exception
                if "incompatible" in str(exc):
                    raise ValueError(f"shard {self.path}: {exc}") from exc
                raise
        else:
            shard = qe.EdgeShard.create(str(self.path), config)
        self._create_indexes(shard)
        self._shard, self._dim = shard, dim
        # A shard written by an earlier run may never have been optimised: count its points.
        self._unoptimized = shard.info().points_count

    @staticmethod
    def _create_indexes(shard: qe.EdgeShard) -> None:
        schema: dict[str, qe.PayloadSchemaType | qe.KeywordIndexParams] = {
            "tenant_id": qe.KeywordIndexParams(is_tenant=True),
            "date": qe.PayloadSchemaType.Datetime,
            **dict.fromkeys(qp.KEYWORD_FIELDS, qe.PayloadSchemaType.Keyword),
        }
        existing = shard.info().payload_schema
        for field, field_schema in schema.items():
            if field not in existing:
                shard.update(qe.UpdateOperation.create_field_index(field, field_schema))

    async def upsert(self, points: Sequence[IndexedPoint]) -> None:
        """Insert or replace points (by tenant and post id), in batches of 1024."""
        for start in range(0, len(points), _BATCH):
            await self._run(partial(self._upsert, points[start : start + _BATCH]))
        self._unoptimized += len(points)
        self._last_write = time.monotonic()

    def _upsert(self, batch: Sequence[IndexedPoint]) -> None:
        # Built on the worker thread too: converting 300-d vectors costs about as much as the
        # engine's own write, and the event loop has better things to do.
        shard = self._require()
        shard.update(qe.UpdateOperation.upsert_points([_point(p) for p in batch]))

    async def delete(self, tenant_id: str, post_ids: Sequence[str]) -> None:
        """Delete the tenant's points with these post ids; unknown ids are ignored."""
        if not post_ids:
            return
        ids: set[qe.PointId] = {qp.point_id(tenant_id, pid) for pid in post_ids}
        selector = qe.Filter(must=[_tenant(tenant_id), qe.HasIdCondition(ids)])
        await self._run(
            lambda: self._require().update(qe.UpdateOperation.delete_points_by_filter(selector))
        )

    async def search_dense(
        self, vector: Sequence[float], filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        """Cosine nearest neighbours among points passing ``filters``, best first."""
        if limit <= 0:
            return []
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(list(vector), using=qp.DENSE),
            filter=_filter(filters),
            with_payload=qp.selector(light),
        )
        found = await self._run(lambda: self._require().query(request))
        return [qp.hit(p.payload, p.score, "dense", light=light) for p in found]

    async def search_sparse(
        self, vector: SparseVector, filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        """IDF-weighted dot product among points passing ``filters``, best first."""
        if limit <= 0 or not vector.indices:
            return []
        tenant_only = qe.Filter(must=[_tenant(filters.tenant_id)])
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(
                qe.SparseVector(list(vector.indices), list(vector.values)), using=qp.SPARSE
            ),
            filter=_filter(filters),
            params=qe.SearchParams(idf=qe.IdfParams(corpus=tenant_only)),
            with_payload=qp.selector(light),
        )
        found = await self._run(lambda: self._require().query(request))
        return [qp.hit(p.payload, p.score, "sparse", light=light) for p in found]

    async def fetch(
        self, filters: SearchFilters, post_ids: Sequence[str], *, light: bool = False
    ) -> list[Hit]:
        """Payloads of those posts that pass ``filters``, in the order asked, score 0."""
        wanted = list(dict.fromkeys(post_ids))
        if not wanted:
            return []
        ids: set[qe.PointId] = {qp.point_id(filters.tenant_id, pid) for pid in wanted}
        request = qe.ScrollRequest(
            limit=len(ids),
            filter=_filter(filters, qe.HasIdCondition(ids)),
            with_payload=qp.selector(light),
        )
        records, _ = await self._run(lambda: self._require().scroll(request))
        return qp.ordered([qp.hit(r.payload, 0.0, "graph", light=light) for r in records], wanted)

    async def optimize(self) -> bool:
        """Merge segments and build the HNSW index (blocks other calls while it runs).

        Not part of the port: call it after a bulk load. Returns whether anything changed.
        """
        return await self._run(lambda: self._require().optimize())

    @property
    def unoptimized_points(self) -> int:
        """Points written since the last optimisation (or found when the shard was opened)."""
        return self._unoptimized

    async def optimize_if_settled(self, *, min_points: int, quiet_s: float) -> bool:
        """Optimise once ``min_points`` points were written since the last time (or were in
        the shard when it was opened) and nothing was written for ``quiet_s`` seconds;
        return whether it ran. ``min_points`` 0 never optimises."""
        if min_points <= 0 or self._unoptimized < min_points:
            return False
        if time.monotonic() - self._last_write < quiet_s:
            return False
        points, self._unoptimized = self._unoptimized, 0
        started = time.monotonic()
        changed = await self.optimize()
        _log.info(
            "vector_store_optimized",
            points_written=points,
            changed=changed,
            seconds=round(time.monotonic() - started, 2),
        )
        return True

    async def ping(self) -> None:
        """Raise unless the shard is open and answers."""
        await self._run(lambda: self._require().info())

    async def close(self) -> None:
        """Flush and close the shard, then stop the worker thread (idempotent)."""
        if self._closed:
            return
        shard, self._shard = self._shard, None
        if shard is not None:
            await self._run(partial(_flush_and_close, shard))
        self._closed = True
        self._worker.shutdown(wait=True)


def _point(p: IndexedPoint) -> qe.Point:
    return qe.Point(
        qp.point_id(p.post.tenant_id, p.post.post_id),
        {
            qp.DENSE: list(p.dense),
            qp.SPARSE: qe.SparseVector(list(p.sparse.indices), list(p.sparse.values)),
        },
        qp.payload(p.post),
    )


def _flush_and_close(shard: qe.EdgeShard) -> None:
    shard.flush()
    shard.close()


def _tenant(tenant_id: str) -> qe.FieldCondition:
    return qe.FieldCondition("tenant_id", match=qe.MatchValue(qp.require_tenant(tenant_id)))


def _filter(filters: SearchFilters, *extra: qe.ConditionType) -> qe.Filter:
    """The tenant condition always, then each optional one; never an empty filter."""
    must: list[qe.ConditionType] = [_tenant(filters.tenant_id), *extra]
    if filters.channels:
        must.append(qe.FieldCondition("channel_id", match=qe.MatchAny(list(filters.channels))))
    since, until = qp.date_bounds(filters)
    if since is not None or until is not None:
        must.append(qe.FieldCondition("date", range=qe.RangeDateTime(gte=since, lte=until)))
    if filters.languages:
        must.append(qe.FieldCondition("language", match=qe.MatchAny(list(filters.languages))))
    if filters.chat_kind is not None:
        must.append(qe.FieldCondition("chat_kind", match=qe.MatchValue(filters.chat_kind)))
    return qe.Filter(must=must)
