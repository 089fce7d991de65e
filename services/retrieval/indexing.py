"""Indexing use case: posts in, canonical rows + vectors + graph out, ``posts.indexed`` emitted.

Order matters for at-least-once delivery: Postgres (the canonical copy) first, then Qdrant and
Neo4j together, then the row is marked fully indexed, then ``posts.indexed.v1`` goes out. A
crash anywhere before the mark leaves the post "not indexed", so the redelivered batch writes
it again (every store write is an idempotent upsert); a post already fully indexed with the
same content is skipped, so re-running an export changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from contracts.v1.posts import PostIngested, PostsDeleted
from services.retrieval.domain.model import Analysis, IndexedPoint, Post
from services.retrieval.domain.text.analyze import analyze_batch
from services.retrieval.domain.text.simhash import hamming
from services.retrieval.ports import (
    Embedder,
    GraphStore,
    PostRepository,
    SparseEncoder,
    VectorStore,
)

Analyzer = Callable[[Sequence[str]], Awaitable[list[Analysis]]]
"""Text analysis of a batch (in process, or spread over worker processes)."""


async def _in_process(texts: Sequence[str]) -> list[Analysis]:
    return analyze_batch(list(texts))


#: SimHash bits within which two posts count as the same text (reposts, light edits).
NEAR_DUPLICATE_BITS = 3


@dataclass(frozen=True)
class Incoming:
    """One ingested post with the tenant from its envelope."""

    tenant_id: str
    payload: PostIngested


Announce = Callable[[list[IndexedPoint]], Awaitable[None]]
"""Called with the points of a chunk once every store has them (see ``Indexer.index``)."""


@dataclass(frozen=True)
class IndexResult:
    """What one batch did: posts written (new or changed), posts skipped as unchanged, and
    seconds spent per stage (analyze, dedupe, postgres, embed, stores, mark)."""

    written: list[IndexedPoint]
    unchanged: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


class Indexer:
    """Writes posts to the three stores; all collaborators are ports."""

    def __init__(
        self,
        *,
        repo: PostRepository,
        vectors: VectorStore,
        graph: GraphStore,
        embedder: Embedder,
        sparse: SparseEncoder,
        analyzer: Analyzer | None = None,
        chunk: int = 64,
    ) -> None:
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        self._chunk = chunk
        self._repo = repo
        self._vectors = vectors
        self._graph = graph
        self._embedder = embedder
        self._sparse = sparse
        self._analyze: Analyzer = analyzer or _in_process

    async def index(
        self, batch: Sequence[Incoming], *, announce: Announce | None = None
    ) -> IndexResult:
        """Index ``batch`` (any mix of tenants); raises what a store raises (retryable).

        ``announce`` is awaited with each chunk's written points after the stores took them
        and *before* they are marked indexed: a crash in between leaves them unmarked, so the
        redelivered batch writes and announces them again instead of skipping them as
        unchanged (an announcement is never lost, at worst repeated).

        The batch goes through in chunks of ``chunk`` posts as a two-stage pipeline: while
        chunk *n* is written (Postgres, embedding, Qdrant, Neo4j — this process and the
        servers), chunk *n+1* is analysed (NER, lemmas — the analysis workers), so neither
        side waits for the other. Chunks are written in order, so a later chunk's duplicate
        check sees the earlier chunks' posts in Postgres. The ``analyze`` stage counts only
        the time spent waiting for an analysis to finish.
        """
        if not batch:
            return IndexResult([], [])
        items = _latest_per_post(batch)
        chunks = [items[i : i + self._chunk] for i in range(0, len(items), self._chunk)]
        clock = _Stages()
        written: list[IndexedPoint] = []
        unchanged: list[str] = []
        analysing = asyncio.ensure_future(self._analyze([i.payload.text for i in chunks[0]]))
        try:
            for n, chunk in enumerate(chunks):
                analyses = await analysing
                clock.lap("analyze")
                if n + 1 < len(chunks):
                    analysing = asyncio.ensure_future(
                        self._analyze([i.payload.text for i in chunks[n + 1]])
                    )
                points, same = await self._write(chunk, analyses, clock, announce)
                written += points
                unchanged += same
        finally:
            if not analysing.done():
                analysing.cancel()
        return IndexResult(written, unchanged, clock.seconds)

    async def _write(
        self,
        chunk: Sequence[Incoming],
        analyses: Sequence[Analysis],
        clock: _Stages,
        announce: Announce | None,
    ) -> tuple[list[IndexedPoint], list[str]]:
        """Write one analysed chunk to every store; (points written, ids unchanged)."""
        posts = [_to_post(item, analysis) for item, analysis in zip(chunk, analyses, strict=True)]
        posts = await self._mark_duplicates(posts)
        clock.lap("dedupe")
        status = await self._repo.upsert(posts)
        clock.lap("postgres")
        changed = [p for p in posts if status.get(p.post_id) != "unchanged"]
        unchanged = [p.post_id for p in posts if status.get(p.post_id) == "unchanged"]
        if not changed:
            return [], unchanged
        dense = await self._embedder.embed([p.analysis.clean_text for p in changed])
        points = [
            IndexedPoint(
                post=post,
                dense=tuple(vector),
                sparse=self._sparse.encode_document(
                    post.analysis.clean_text, post.analysis.language
                ),
            )
            for post, vector in zip(changed, dense, strict=True)
        ]
        clock.lap("embed")
        await asyncio.gather(self._vectors.upsert(points), self._graph.write_posts(changed))
        clock.lap("stores")
        if announce is not None:
            await announce(points)
            clock.lap("announce")
        await self._repo.mark_indexed([(p.tenant_id, p.post_id) for p in changed])
        clock.lap("mark")
        return points, unchanged

    async def delete(self, tenant_id: str, deleted: PostsDeleted) -> list[str]:
        """Remove posts from every store; returns the post ids that existed."""
        ids = await self._repo.delete(tenant_id, deleted.channel_id, deleted.message_ids)
        if ids:
            await asyncio.gather(
                self._vectors.delete(tenant_id, ids), self._graph.delete_posts(tenant_id, ids)
            )
        return ids

    async def _mark_duplicates(self, posts: list[Post]) -> list[Post]:
        """Point each near-copy at the earliest post with (almost) the same text: earlier in
        this batch first, then already stored posts of the same tenant."""
        out: list[Post] = []
        seen: list[Post] = []
        lookups: dict[str, list[int]] = {}
        for post in posts:
            if not post.analysis.clean_text:
                out.append(post)
                continue
            twin = next(
                (
                    s
                    for s in seen
                    if s.tenant_id == post.tenant_id
                    and hamming(s.analysis.simhash, post.analysis.simhash) <= NEAR_DUPLICATE_BITS
                ),
                None,
            )
            if twin is not None:
                post = replace(post, duplicate_of=twin.duplicate_of or twin.post_id)
            else:
                seen.append(post)
                lookups.setdefault(post.tenant_id, []).append(post.analysis.simhash)
            out.append(post)
        found: dict[tuple[str, int], str] = {}
        for tenant, hashes in lookups.items():
            for simhash, post_id in (
                await self._repo.find_near_duplicates(
                    tenant, hashes, max_distance=NEAR_DUPLICATE_BITS
                )
            ).items():
                found[(tenant, simhash)] = post_id
        return [
            replace(p, duplicate_of=found[(p.tenant_id, p.analysis.simhash)])
            if p.duplicate_of is None
            and found.get((p.tenant_id, p.analysis.simhash)) not in (None, p.post_id)
            else p
            for p in out
        ]


class _Stages:
    """Seconds per pipeline stage, for the metrics and the benchmark's profile."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


def _latest_per_post(batch: Sequence[Incoming]) -> list[Incoming]:
    """One item per post: a batch holding a post and its edit keeps the newest version."""
    latest: dict[tuple[str, str, int], Incoming] = {}
    for item in batch:
        key = (item.tenant_id, item.payload.channel_id, item.payload.message_id)
        current = latest.get(key)
        if current is None or _version(item.payload) >= _version(current.payload):
            latest[key] = item
    return list(latest.values())


def _version(post: PostIngested) -> float:
    return (post.edit_date or post.date).timestamp()


def _to_post(item: Incoming, analysis: Analysis) -> Post:
    p = item.payload
    return Post(
        tenant_id=item.tenant_id,
        post_id=p.natural_key(item.tenant_id),
        channel_id=p.channel_id,
        channel_title=p.channel_title,
        chat_kind=p.chat_kind,
        message_id=p.message_id,
        date=p.date,
        text=p.text,
        analysis=analysis,
        edit_date=p.edit_date,
        author_id=p.author_id,
        author_name=p.author_name,
        reply_to_message_id=p.reply_to_message_id,
        forwarded_from=p.forwarded_from,
        views=p.views,
        forwards=p.forwards,
        permalink=p.permalink,
    )
