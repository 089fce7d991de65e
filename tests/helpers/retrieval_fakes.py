"""In-memory fakes of the retrieval ports, and factories of posts and points for tests.

The fakes keep the adapters' contracts (the same behaviour suites run against both, see
``tests/unit/retrieval/test_store_*.py``): tenant scoping, filters that never fall back to
unfiltered results, tenant-scoped IDF, upsert statuses, graph expansion scoring. Set
``down = True`` on a fake to make every call raise ``ConnectionError`` (a store that is down).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from contracts.v1.common import post_id as make_post_id
from services.retrieval.domain.model import (
    Analysis,
    Entity,
    Hit,
    IndexedPoint,
    Leg,
    Post,
    SearchFilters,
    SparseVector,
)

# ------------------------------------------------------------------------------ factories


def make_post(
    tenant_id: str = "t1",
    channel_id: str = "c1",
    message_id: int = 1,
    *,
    text: str = "",
    date: datetime | None = None,
    language: str = "ru",
    chat_kind: str = "channel",
    entities: Iterable[str] = (),
    simhash: int = 0,
    **fields: object,
) -> Post:
    """A post with sensible defaults; ``entities`` are normalized names (label MISC)."""
    text = text or f"post {message_id} of {channel_id}"
    analysis = Analysis(
        clean_text=text,
        language=language,
        entities=tuple(Entity(text=e.title(), normalized=e, label="MISC") for e in entities),
        keywords=(),
        simhash=simhash,
    )
    return Post(
        tenant_id=tenant_id,
        post_id=make_post_id(tenant_id, channel_id, message_id),
        channel_id=channel_id,
        channel_title=f"Channel {channel_id}",
        chat_kind=chat_kind,  # type: ignore[arg-type]
        message_id=message_id,
        date=date or datetime(2024, 1, 1, tzinfo=UTC),
        text=text,
        analysis=analysis,
        **fields,  # type: ignore[arg-type]
    )


def make_point(
    post: Post, dense: Sequence[float], sparse: Mapping[int, float] | None = None
) -> IndexedPoint:
    """A point of ``post``; ``sparse`` maps term id → weight (sorted here)."""
    terms = sorted((sparse or {}).items())
    return IndexedPoint(
        post=post,
        dense=tuple(float(x) for x in dense),
        sparse=SparseVector(tuple(i for i, _ in terms), tuple(float(v) for _, v in terms)),
    )


def sparse(weights: Mapping[int, float]) -> SparseVector:
    terms = sorted(weights.items())
    return SparseVector(tuple(i for i, _ in terms), tuple(float(v) for _, v in terms))


# ------------------------------------------------------------------------------ vector store


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _passes(post: Post, f: SearchFilters) -> bool:
    date = _utc(post.date)
    return (
        post.tenant_id == f.tenant_id
        and (not f.channels or post.channel_id in f.channels)
        and (f.since is None or date >= _utc(f.since))
        and (f.until is None or date <= _utc(f.until))
        and (not f.languages or post.analysis.language in f.languages)
        and (f.chat_kind is None or post.chat_kind == f.chat_kind)
    )


def _hit(post: Post, score: float, leg: Leg, light: bool = False) -> Hit:
    if light:  # what the real stores return for a light query: enough to fuse and collapse
        return Hit(post_id=post.post_id, score=score, leg=leg, duplicate_of=post.duplicate_of)
    names = list(dict.fromkeys(e.normalized for e in post.analysis.entities if e.normalized))
    return Hit(
        post_id=post.post_id,
        score=score,
        leg=leg,
        channel_id=post.channel_id,
        channel_title=post.channel_title,
        message_id=post.message_id,
        date=_utc(post.date),
        text=(post.analysis.clean_text or post.text)[:2000],
        permalink=post.permalink,
        entities=tuple(names[:200]),
        language=post.analysis.language,
        duplicate_of=post.duplicate_of,
    )


class _Switch:
    down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError(f"{type(self).__name__} is down")


class FakeVectorStore(_Switch):
    """An in-memory :class:`~services.retrieval.ports.VectorStore` (exact search)."""

    def __init__(self) -> None:
        self.dim: int | None = None
        self.points: dict[tuple[str, str], IndexedPoint] = {}
        self.closed = False

    async def ensure_collection(self, dim: int) -> None:
        self._check()
        if self.dim is not None and self.dim != dim:
            raise ValueError(f"collection has dense size {self.dim}, not {dim}")
        self.dim = dim

    async def upsert(self, points: Sequence[IndexedPoint]) -> None:
        self._check()
        for p in points:
            if not p.post.tenant_id:
                raise ValueError("tenant_id is required")
            if len(p.dense) != self.dim:
                raise ValueError(f"dense size {len(p.dense)}, expected {self.dim}")
            self.points[(p.post.tenant_id, p.post.post_id)] = p

    async def delete(self, tenant_id: str, post_ids: Sequence[str]) -> None:
        self._check()
        for pid in post_ids:
            self.points.pop((tenant_id, pid), None)

    def _candidates(self, filters: SearchFilters) -> list[IndexedPoint]:
        if not filters.tenant_id:
            raise ValueError("tenant_id is required")
        return [p for p in self.points.values() if _passes(p.post, filters)]

    async def search_dense(
        self, vector: Sequence[float], filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        self._check()
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        scored = []
        for p in self._candidates(filters):
            pnorm = math.sqrt(sum(x * x for x in p.dense)) or 1.0
            cos = sum(a * b for a, b in zip(vector, p.dense, strict=True)) / (norm * pnorm)
            scored.append((cos, p.post))
        return self._top(scored, "dense", limit, light)

    async def search_sparse(
        self, vector: SparseVector, filters: SearchFilters, limit: int, *, light: bool = False
    ) -> list[Hit]:
        self._check()
        if not vector.indices:
            return []
        corpus = [p for (t, _), p in self.points.items() if t == filters.tenant_id]
        df: dict[int, int] = defaultdict(int)
        for p in corpus:
            for i in p.sparse.indices:
                df[i] += 1
        n = len(corpus)
        query = {
            i: v * math.log((n - df[i] + 0.5) / (df[i] + 0.5) + 1)
            for i, v in zip(vector.indices, vector.values, strict=True)
        }
        scored = []
        for p in self._candidates(filters):
            terms = dict(zip(p.sparse.indices, p.sparse.values, strict=True))
            common = query.keys() & terms.keys()
            if common:
                scored.append((sum(query[i] * terms[i] for i in common), p.post))
        return self._top(scored, "sparse", limit, light)

    @staticmethod
    def _top(scored: list[tuple[float, Post]], leg: Leg, limit: int, light: bool) -> list[Hit]:
        scored.sort(key=lambda sp: (-sp[0], sp[1].post_id))
        return [_hit(post, score, leg, light) for score, post in scored[: max(limit, 0)]]

    async def fetch(
        self, filters: SearchFilters, post_ids: Sequence[str], *, light: bool = False
    ) -> list[Hit]:
        self._check()
        allowed = {p.post.post_id: p.post for p in self._candidates(filters)}
        return [
            _hit(allowed[i], 0.0, "graph", light) for i in dict.fromkeys(post_ids) if i in allowed
        ]

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        self.closed = True


# ------------------------------------------------------------------------------ graph store


class FakeGraphStore(_Switch):
    """An in-memory :class:`~services.retrieval.ports.GraphStore`, scoring like Neo4jGraph."""

    def __init__(self, *, hub_limit: int = 200) -> None:
        self.hub_limit = hub_limit
        self.posts: dict[tuple[str, str], Post] = {}
        self.schema_ready = False
        self.closed = False

    async def ensure_schema(self) -> None:
        self._check()
        self.schema_ready = True

    async def write_posts(self, posts: Sequence[Post]) -> None:
        self._check()
        floor = datetime.min.replace(tzinfo=UTC)
        batch: dict[tuple[str, str], Post] = {}
        for post in posts:  # within a batch the newest edit wins, as in Neo4jGraph
            if not post.tenant_id:
                raise ValueError("tenant_id is required")
            held = batch.get((post.tenant_id, post.post_id))
            if held is None or _utc(post.edit_date or floor) >= _utc(held.edit_date or floor):
                batch[(post.tenant_id, post.post_id)] = post
        self.posts.update(batch)

    async def delete_posts(self, tenant_id: str, post_ids: Sequence[str]) -> None:
        self._check()
        for pid in post_ids:
            self.posts.pop((tenant_id, pid), None)

    def _links(self, tenant_id: str) -> dict[str, set[tuple[str, str]]]:
        """post id → its neighbours' "via" keys: ("e", entity) or ("p", replying post)."""
        mentions: dict[str, set[str]] = defaultdict(set)
        edges: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for (tenant, pid), post in self.posts.items():
            if tenant != tenant_id:
                continue
            for e in post.analysis.entities:
                if e.normalized:
                    mentions[e.normalized].add(pid)
            if post.reply_to_message_id is not None:
                target = make_post_id(tenant, post.channel_id, post.reply_to_message_id)
                edges[pid].add(("p", target))
                edges[target].add(("p", pid))
        for name, pids in mentions.items():
            if len(pids) <= self.hub_limit:
                for pid in pids:
                    edges[pid].add(("e", name))
        return edges

    async def expand(
        self, tenant_id: str, post_ids: Sequence[str], *, depth: int, limit: int
    ) -> list[tuple[str, float]]:
        self._check()
        if not tenant_id:
            raise ValueError("tenant_id is required")
        edges = self._links(tenant_id)
        by_entity: dict[str, set[str]] = defaultdict(set)
        for pid, vias in edges.items():
            for kind, key in vias:
                if kind == "e":
                    by_entity[key].add(pid)
        visited = set(post_ids)
        frontier = list(visited)
        found: dict[str, float] = {}
        for hop in range(1, depth + 1):
            if not frontier or limit <= 0 or len(found) >= limit:
                break
            links: dict[str, set[tuple[str, str]]] = defaultdict(set)
            for p in frontier:
                for kind, key in edges.get(p, ()):
                    if kind == "e":
                        for q in by_entity[key]:
                            links[q].add(("e", key))
                    else:
                        links[key].add(("p", p))
            ranked = sorted(
                ((q, len(v)) for q, v in links.items() if q not in visited),
                key=lambda qv: (-qv[1], qv[0]),
            )[:limit]
            frontier = [q for q, _ in ranked]
            visited.update(frontier)
            for q, n in ranked:
                if (tenant_id, q) in self.posts:  # stubs (replied, never written) are skipped
                    found[q] = n / (n + 1) * 0.5 ** (hop - 1)
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[: max(limit, 0)]

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        self.closed = True


# ------------------------------------------------------------------------------ post repository


def _content(post: Post) -> Post:
    return replace(post, edit_date=None, views=None, forwards=None)


class FakePostRepository(_Switch):
    """An in-memory :class:`~services.retrieval.ports.PostRepository` with PostgresPosts'
    statuses: counters refresh silently, an older edit never overwrites a newer one,
    "unchanged" only once marked indexed, and "earlier" means stored earlier."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], Post] = {}
        self.indexed: set[tuple[str, str]] = set()

    async def upsert(self, posts: Sequence[Post]) -> dict[str, str]:
        self._check()
        floor = datetime.min.replace(tzinfo=UTC)
        latest: dict[tuple[str, str, int], Post] = {}
        for post in posts:
            if not post.tenant_id:
                raise ValueError("tenant_id is required")
            key = (post.tenant_id, post.channel_id, post.message_id)
            held = latest.get(key)
            if held is None or _utc(post.edit_date or floor) >= _utc(held.edit_date or floor):
                latest[key] = post
        status: dict[tuple[str, str, int], str] = {}
        for key, post in latest.items():
            old = self.rows.get(key)
            ident = (post.tenant_id, post.post_id)
            if old is None:
                status[key] = "new"
            elif _utc(post.edit_date or floor) < _utc(old.edit_date or floor):
                status[key] = "unchanged"
                continue
            elif _content(old) == _content(post) and old.edit_date == post.edit_date:
                status[key] = "unchanged" if ident in self.indexed else "updated"
            else:
                status[key] = "updated"
                self.indexed.discard(ident)
            self.rows[key] = post
        return {p.post_id: status[(p.tenant_id, p.channel_id, p.message_id)] for p in posts}

    async def mark_indexed(self, keys: Sequence[tuple[str, str]]) -> None:
        self._check()
        stored = {(t, p.post_id) for (t, _, _), p in self.rows.items()}
        self.indexed.update(k for k in keys if k in stored)

    async def delete(
        self, tenant_id: str, channel_id: str, message_ids: Sequence[int]
    ) -> list[str]:
        self._check()
        gone = [self.rows.pop((tenant_id, channel_id, m), None) for m in message_ids]
        ids = [p.post_id for p in gone if p is not None]
        self.indexed.difference_update((tenant_id, pid) for pid in ids)
        return ids

    async def find_near_duplicates(
        self, tenant_id: str, simhashes: Sequence[int], *, max_distance: int
    ) -> dict[int, str]:
        self._check()
        mine = [p for (t, _, _), p in self.rows.items() if t == tenant_id]  # storage order
        out: dict[int, str] = {}
        for h in simhashes:
            for p in mine:
                if (p.analysis.simhash ^ h).bit_count() <= max_distance:
                    out[h] = p.post_id
                    break
        return out

    async def get(self, tenant_id: str, post_ids: Sequence[str]) -> list[Post]:
        self._check()
        by_id = {p.post_id: p for (t, _, _), p in self.rows.items() if t == tenant_id}
        return [by_id[i] for i in dict.fromkeys(post_ids) if i in by_id]

    async def ping(self) -> None:
        self._check()
