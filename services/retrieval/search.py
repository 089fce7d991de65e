"""Search use case: hybrid dense + sparse + graph retrieval for one tenant, within limits.

Legs run concurrently, each under its own deadline; a leg that fails or times out is reported
in ``degraded_legs`` and the answer is built from the legs that ran — never by dropping a
filter. Results are fused with RRF, near-copies collapsed, diversified with MMR and cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from contracts.v1.retrieval import DocumentsRetrieved, RetrievedDocument, RetrieveDocuments
from servicekit.cache import TtlLru
from servicekit.logging import get_logger
from services.retrieval.domain.fusion import Fused, mmr, rrf
from services.retrieval.domain.limits import clamp
from services.retrieval.domain.model import Hit, Leg, SearchFilters
from services.retrieval.ports import Embedder, GraphStore, SparseEncoder, VectorStore

_log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SearchTuning:
    """Knobs of the hybrid search (defaults measured by ``make eval-retrieval``)."""

    rrf_k: int = 2
    dense_weight: float = 0.1
    sparse_weight: float = 1.0
    graph_weight: float = 0.3
    candidates: int = 100
    graph_seeds: int = 5
    mmr_lambda: float | None = None
    """Relevance vs diversity; None: per domain (``MMR_BY_DOMAIN``)."""
    leg_timeout_s: float = 2.0


#: Question answering wants the most relevant posts; digests and trends want several stories.
MMR_BY_DOMAIN: dict[str, float] = {"qa": 1.0, "digest": 0.7, "trend": 0.7}


class SearchMetrics:
    """Hooks the use case reports to (the service binds them to Prometheus)."""

    def __init__(
        self,
        on_cache: Callable[[bool], None] = lambda hit: None,
        on_leg: Callable[[str, str, float], None] = lambda leg, outcome, seconds: None,
    ) -> None:
        self.on_cache = on_cache
        self.on_leg = on_leg


class Searcher:
    """Answers ``RetrieveDocuments`` for a tenant."""

    def __init__(
        self,
        *,
        vectors: VectorStore,
        graph: GraphStore,
        embedder: Embedder,
        sparse: SparseEncoder,
        cache: TtlLru[DocumentsRetrieved],
        tuning: SearchTuning | None = None,
        metrics: SearchMetrics | None = None,
    ) -> None:
        self._vectors = vectors
        self._graph = graph
        self._embedder = embedder
        self._sparse = sparse
        self._cache = cache
        self._tuning = tuning or SearchTuning()
        self._metrics = metrics or SearchMetrics()
        # Bumped by invalidate(): an answer computed while the tenant's posts changed is not
        # cached, or it would outlive the change (a deleted post served from the cache).
        self._generation: dict[str, int] = {}

    async def search_many(
        self,
        requests: Sequence[tuple[str, RetrieveDocuments]],
        on_answer: Callable[[int, DocumentsRetrieved], Awaitable[None]] | None = None,
    ) -> list[DocumentsRetrieved]:
        """Answer several requests at once: one embedding call for all their queries. With
        ``on_answer``, each answer is handed over (with its index) as soon as it is ready,
        not when the slowest of the lot is."""
        results: list[DocumentsRetrieved | None] = []
        pending: list[int] = []
        generations = {tenant: self._generation.get(tenant, 0) for tenant, _ in requests}
        for n, (tenant, request) in enumerate(requests):
            cached = self._cache.get(_cache_key(tenant, request))
            self._metrics.on_cache(cached is not None)
            results.append(cached.model_copy(update={"cache_hit": True}) if cached else None)
            if cached is None:
                pending.append(n)
        vectors: list[list[float]] | BaseException = []
        needs_dense = [n for n in pending if "dense" in requests[n][1].legs]
        if needs_dense:
            vectors = await _guard(
                self._embedder.embed([requests[n][1].query for n in needs_dense]),
                self._tuning.leg_timeout_s,
            )
        dense_of = {
            n: (vectors[i] if isinstance(vectors, list) else vectors)
            for i, n in enumerate(needs_dense)
        }

        async def answer(n: int) -> None:
            found = results[n]
            if found is None:
                tenant = requests[n][0]
                found = results[n] = await self._search(*requests[n], dense_of.get(n))
                if (
                    not found.degraded_legs
                    and self._generation.get(tenant, 0) == generations[tenant]
                ):
                    self._cache.put(_cache_key(*requests[n]), found)
            if on_answer is not None:
                await on_answer(n, found)

        await asyncio.gather(*(answer(n) for n in range(len(requests))))
        return [r for r in results if r is not None]

    async def search(self, tenant_id: str, request: RetrieveDocuments) -> DocumentsRetrieved:
        """Answer one request."""
        return (await self.search_many([(tenant_id, request)]))[0]

    def invalidate(self, tenant_id: str) -> None:
        """Forget cached answers of a tenant (its posts changed), including answers still
        being computed."""
        self._generation[tenant_id] = self._generation.get(tenant_id, 0) + 1
        self._cache.invalidate(lambda key: isinstance(key, tuple) and key[0] == tenant_id)

    async def _search(
        self,
        tenant_id: str,
        request: RetrieveDocuments,
        dense: list[float] | BaseException | None,
    ) -> DocumentsRetrieved:
        started = time.monotonic()
        t = self._tuning
        top_k, depth = clamp(request.domain, request.top_k, request.graph_depth)
        filters = _filters(tenant_id, request)
        lambda_ = (
            t.mmr_lambda if t.mmr_lambda is not None else MMR_BY_DOMAIN.get(request.domain, 1.0)
        )
        # Pure relevance order needs no candidate's text: the legs bring ids (and what reposts
        # collapse onto) and only the picked posts are read whole, instead of every candidate.
        light = lambda_ >= 1.0
        tasks: dict[Leg, Awaitable[list[Hit]]] = {}
        degraded: list[str] = []
        if "dense" in request.legs:
            if isinstance(dense, list):
                tasks["dense"] = self._vectors.search_dense(
                    dense, filters, t.candidates, light=light
                )
            else:
                degraded.append("dense")
                self._metrics.on_leg("dense", "failed", 0.0)
        if "sparse" in request.legs:
            query = self._sparse.encode_query(
                request.query, request.filters.languages[0] if request.filters.languages else ""
            )
            tasks["sparse"] = self._vectors.search_sparse(query, filters, t.candidates, light=light)
        legs: dict[Leg, list[Hit]] = {}
        outcomes = await asyncio.gather(*(self._timed(leg, aw) for leg, aw in tasks.items()))
        for leg, outcome in zip(tasks, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                degraded.append(leg)
            else:
                legs[leg] = outcome
        weights: dict[Leg, float] = {
            "dense": t.dense_weight,
            "sparse": t.sparse_weight,
            "graph": t.graph_weight,
        }
        fused = rrf(legs, k=t.rrf_k, weights=weights)
        if depth > 0 and "graph" in request.legs and fused:
            graph_hits = await self._graph_leg(tenant_id, fused, filters, depth, top_k, light)
            if isinstance(graph_hits, BaseException):
                degraded.append("graph")
            else:
                legs["graph"] = graph_hits
                fused = rrf(legs, k=t.rrf_k, weights=weights)
        collapsed, copies = _collapse(fused)
        picked = mmr(collapsed, top_k, lambda_=lambda_)
        if light and picked:
            picked = await self._hydrate(picked, filters, degraded)
        return DocumentsRetrieved(
            request_id=request.request_id,
            documents=[_document(f, copies.get(f.hit.post_id, [])) for f in picked],
            legs_run=sorted(legs),
            degraded_legs=sorted(set(degraded)),
            cache_hit=False,
            took_ms=int((time.monotonic() - started) * 1000),
        )

    async def _hydrate(
        self, picked: list[Fused], filters: SearchFilters, degraded: list[str]
    ) -> list[Fused]:
        """The picked posts with their whole payloads (one read); a post deleted meanwhile
        drops out. If the read fails, the answer has no documents and names the leg
        ``payload`` degraded (it is not cached)."""
        found = await _guard(
            self._vectors.fetch(filters, [f.hit.post_id for f in picked]),
            self._tuning.leg_timeout_s,
        )
        if isinstance(found, BaseException):
            _log.warning("retrieval_payload_failed", error=repr(found)[:200])
            degraded.append("payload")
            return []
        whole = {h.post_id: h for h in found}
        return [
            replace(f, hit=replace(whole[f.hit.post_id], score=f.hit.score, leg=f.hit.leg))
            for f in picked
            if f.hit.post_id in whole
        ]

    async def _graph_leg(
        self,
        tenant_id: str,
        fused: list[Fused],
        filters: SearchFilters,
        depth: int,
        top_k: int,
        light: bool,
    ) -> list[Hit] | BaseException:
        async def run() -> list[Hit]:
            seeds = [f.hit.post_id for f in fused[: self._tuning.graph_seeds]]
            related = await self._graph.expand(tenant_id, seeds, depth=depth, limit=top_k * 2)
            if not related:
                return []
            # Payloads come from the vector store *with the request's filters*: the graph may
            # reach posts outside the channels or time window asked for, and those must go.
            hits = {
                h.post_id: h
                for h in await self._vectors.fetch(filters, [p for p, _ in related], light=light)
            }
            return [
                replace(hits[pid], score=score, leg="graph")
                for pid, score in related
                if pid in hits
            ]

        return await self._timed("graph", run())

    async def _timed(self, leg: str, aw: Awaitable[list[Hit]]) -> list[Hit] | BaseException:
        started = time.monotonic()
        result = await _guard(aw, self._tuning.leg_timeout_s)
        outcome = "failed" if isinstance(result, BaseException) else "ok"
        if isinstance(result, BaseException):
            _log.warning("retrieval_leg_failed", leg=leg, error=repr(result)[:200])
        self._metrics.on_leg(leg, outcome, time.monotonic() - started)
        return result


async def _guard(aw: Awaitable[T], timeout_s: float) -> T | BaseException:
    """The awaitable's result, or the exception it raised (a timeout included)."""
    try:
        return await asyncio.wait_for(aw, timeout_s)
    except Exception as exc:
        return exc


def _filters(tenant_id: str, request: RetrieveDocuments) -> SearchFilters:
    f = request.filters
    return SearchFilters(
        tenant_id=tenant_id,
        channels=tuple(f.channels or ()),
        since=f.since,
        until=f.until,
        languages=tuple(f.languages or ()),
        chat_kind=f.chat_kind,
    )


def _cache_key(tenant_id: str, request: RetrieveDocuments) -> tuple[Any, ...]:
    f = request.filters
    return (
        tenant_id,
        " ".join(request.query.lower().split()),
        request.domain,
        request.top_k,
        request.graph_depth,
        tuple(sorted(request.legs)),
        tuple(f.channels or ()),
        f.since,
        f.until,
        tuple(f.languages or ()),
        f.chat_kind,
    )


def _collapse(fused: list[Fused]) -> tuple[list[Fused], dict[str, list[str]]]:
    """Keep the best-ranked post of each near-duplicate group (reposts collapse); return the
    kept items and, per kept post id, the ids of the copies folded into it."""
    kept: dict[str, Fused] = {}
    copies: dict[str, list[str]] = {}
    for item in fused:
        root = item.hit.duplicate_of or item.hit.post_id
        if root in kept:
            copies[kept[root].hit.post_id].append(item.hit.post_id)
            continue
        kept[root] = item
        copies[item.hit.post_id] = []
    return list(kept.values()), copies


def _document(item: Fused, duplicates: list[str]) -> RetrievedDocument:
    hit = item.hit
    return RetrievedDocument(
        post_id=hit.post_id,
        channel_id=hit.channel_id,
        channel_title=hit.channel_title,
        message_id=hit.message_id,
        date=hit.date,
        text=hit.text[:8192],
        score=round(item.score, 6),
        legs=sorted(item.leg_ranks),
        permalink=hit.permalink,
        entities=list(hit.entities[:50]),
        leg_scores={leg: round(score, 6) for leg, score in item.leg_scores.items()},
        duplicates=duplicates[:50],
    )
