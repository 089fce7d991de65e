"""Indexing and search use cases over the in-memory fakes of the three stores."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from contracts.v1.posts import PostIngested, PostsDeleted
from contracts.v1.retrieval import DocumentsRetrieved, RetrievalFilters, RetrieveDocuments
from servicekit.cache import TtlLru
from services.retrieval.domain.model import Analysis, IndexedPoint
from services.retrieval.domain.sparse import Bm25Encoder
from services.retrieval.domain.text.analyze import analyze_batch
from services.retrieval.indexing import Incoming, Indexer
from services.retrieval.search import Searcher
from tests.helpers.retrieval_fakes import FakeGraphStore, FakePostRepository, FakeVectorStore

pytestmark = pytest.mark.unit
DAY = datetime(2024, 12, 3, 12, tzinfo=UTC)


class HashEmbedder:
    """Deterministic bag-of-words vectors: enough to exercise the dense leg."""

    model_name = "test-hash-64"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in text.lower().split():
                vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


POSTS = [
    ("-1001", 1, "В Китае нашли ударный кратер необычной формы"),
    ("-1001", 2, "Сбербанк повысил ставки по вкладам для клиентов"),
    ("-1002", 3, "Герман Греф рассказал о ставках Сбербанка по вкладам"),
    ("-1002", 4, "Учёные открыли новую экзопланету у соседней звезды"),
]


def _incoming(tenant: str, channel: str, msg: int, text: str, **kw: object) -> Incoming:
    return Incoming(
        tenant,
        PostIngested(
            channel_id=channel,
            chat_kind="channel",
            message_id=msg,
            source="api",
            date=kw.pop("date", DAY),
            text=text,
            **kw,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def stores() -> tuple[FakePostRepository, FakeVectorStore, FakeGraphStore, HashEmbedder]:
    return FakePostRepository(), FakeVectorStore(), FakeGraphStore(), HashEmbedder()


async def _wire(
    stores: tuple[FakePostRepository, FakeVectorStore, FakeGraphStore, HashEmbedder],
) -> tuple[Indexer, Searcher]:
    repo, vectors, graph, embedder = stores
    await vectors.ensure_collection(embedder.dim)
    sparse = Bm25Encoder()
    indexer = Indexer(
        repo=repo,
        vectors=vectors,
        graph=graph,
        embedder=embedder,
        sparse=sparse,
    )
    searcher = Searcher(
        vectors=vectors,
        graph=graph,
        embedder=embedder,
        sparse=sparse,
        cache=TtlLru(100, 3600, lambda: 0.0),
    )
    return indexer, searcher


async def test_index_is_idempotent_and_edits_reindex(stores) -> None:  # type: ignore[no-untyped-def]
    indexer, _ = await _wire(stores)
    first = await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    assert len(first.written) == 4
    again = await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    assert again.written == []
    assert len(again.unchanged) == 4
    edited = await indexer.index(
        [
            _incoming(
                "acme", "-1001", 2, "Сбербанк снизил ставки", edit_date=DAY + timedelta(hours=1)
            )
        ]
    )
    assert [p.post.post_id for p in edited.written] == ["acme:-1001:2"]


async def test_reposts_are_marked_duplicates(stores) -> None:  # type: ignore[no-untyped-def]
    indexer, _ = await _wire(stores)
    text = "Путин встретился с Грефом в Москве и обсудил ставки по ипотеке для семей"
    result = await indexer.index(
        [_incoming("acme", "-1001", 1, text), _incoming("acme", "-1002", 7, text + " 🔥")]
    )
    by_id = {p.post.post_id: p.post for p in result.written}
    assert by_id["acme:-1001:1"].duplicate_of is None
    assert by_id["acme:-1002:7"].duplicate_of == "acme:-1001:1"
    later = await indexer.index([_incoming("acme", "-1003", 9, text)])
    assert later.written[0].post.duplicate_of == "acme:-1001:1"


async def test_chunks_overlap_analysis_with_writes_and_keep_order(stores) -> None:  # type: ignore[no-untyped-def]
    """Chunk n+1 is analysed while chunk n is written; duplicates across chunks are found."""
    _, vectors, graph, embedder = stores
    await vectors.ensure_collection(embedder.dim)
    events: list[str] = []
    analysed = 0

    async def analyzer(texts: Sequence[str]) -> list[Analysis]:
        nonlocal analysed
        n = analysed
        analysed += 1
        events.append(f"analyse {n} start")
        await asyncio.sleep(0.01)
        events.append(f"analyse {n} end")
        return analyze_batch(list(texts))

    class RecordingRepo(FakePostRepository):
        async def upsert(self, posts):  # type: ignore[no-untyped-def]
            n = len([e for e in events if e.startswith("write") and e.endswith("start")])
            events.append(f"write {n} start")
            await asyncio.sleep(0.02)
            events.append(f"write {n} end")
            return await super().upsert(posts)

    indexer = Indexer(
        repo=RecordingRepo(),
        vectors=vectors,
        graph=graph,
        embedder=embedder,
        sparse=Bm25Encoder(),
        analyzer=analyzer,
        chunk=2,
    )
    text = "Путин встретился с Грефом в Москве и обсудил ставки по ипотеке для семей"
    batch = [_incoming("acme", c, m, t) for c, m, t in POSTS] + [
        _incoming("acme", "-1003", 9, text),
        _incoming("acme", "-1004", 5, text + " 🔥"),
        _incoming("acme", "-1005", 6, "Сбербанк повысил ставки по вкладам для клиентов!"),
    ]
    result = await indexer.index(batch)
    assert [p.post.post_id for p in result.written] == [
        "acme:-1001:1",
        "acme:-1001:2",
        "acme:-1002:3",
        "acme:-1002:4",
        "acme:-1003:9",
        "acme:-1004:5",
        "acme:-1005:6",
    ]
    by_id = {p.post.post_id: p.post for p in result.written}
    assert by_id["acme:-1004:5"].duplicate_of == "acme:-1003:9"  # same chunk
    assert by_id["acme:-1005:6"].duplicate_of == "acme:-1001:2"  # an earlier chunk
    # Four chunks; each next analysis starts before the previous chunk's write.
    assert analysed == 4
    for n in range(3):
        assert events.index(f"analyse {n + 1} start") < events.index(f"write {n} end")
        assert events.index(f"write {n} end") < events.index(f"write {n + 1} start")


async def test_a_failing_write_stops_the_pipeline(stores) -> None:  # type: ignore[no-untyped-def]
    repo, vectors, _, embedder = stores
    await vectors.ensure_collection(embedder.dim)

    class BrokenGraph(FakeGraphStore):
        async def write_posts(self, posts):  # type: ignore[no-untyped-def]
            raise ConnectionError("neo4j down")

    indexer = Indexer(
        repo=repo,
        vectors=vectors,
        graph=BrokenGraph(),
        embedder=embedder,
        sparse=Bm25Encoder(),
        chunk=1,
    )
    with pytest.raises(ConnectionError):
        await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    # Nothing was marked indexed, so the redelivered batch writes everything again.
    assert repo.indexed == set()
    assert len(repo.rows) == 1  # the first chunk reached Postgres, then the graph failed


async def test_search_finds_cites_and_isolates_tenants(stores) -> None:  # type: ignore[no-untyped-def]
    indexer, searcher = await _wire(stores)
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    await indexer.index([_incoming("other", "-1009", 1, "Сбербанк и вклады: секретный пост")])
    answer = await searcher.search(
        "acme",
        RetrieveDocuments(
            request_id="r1", query="ставки Сбербанка по вкладам", domain="qa", top_k=3
        ),
    )
    ids = [d.post_id for d in answer.documents]
    assert ids
    assert set(ids) <= {"acme:-1001:2", "acme:-1002:3", "acme:-1001:1", "acme:-1002:4"}
    assert ids[0] in {"acme:-1001:2", "acme:-1002:3"}
    assert "dense" in answer.legs_run
    assert "sparse" in answer.legs_run
    assert not any(d.post_id.startswith("other:") for d in answer.documents)
    assert answer.degraded_legs == []
    # The legs of a qa search read ids only; the documents are read whole afterwards.
    assert all(d.text and d.channel_id and d.date is not None for d in answer.documents)


async def test_filters_never_fall_back_to_unfiltered(stores) -> None:  # type: ignore[no-untyped-def]
    indexer, searcher = await _wire(stores)
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    request = RetrieveDocuments(
        request_id="r2",
        query="Сбербанк",
        domain="qa",
        filters=RetrievalFilters(since=DAY + timedelta(days=10)),
    )
    assert (await searcher.search("acme", request)).documents == []
    by_channel = RetrieveDocuments(
        request_id="r3",
        query="Сбербанк вклады",
        domain="qa",
        filters=RetrievalFilters(channels=["-1002"]),
    )
    docs = (await searcher.search("acme", by_channel)).documents
    assert docs
    assert all(d.channel_id == "-1002" for d in docs)


async def test_store_down_degrades_and_says_which_leg(stores) -> None:  # type: ignore[no-untyped-def]
    _repo, vectors, graph, _embedder = stores
    indexer, searcher = await _wire(stores)
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    graph.down = True
    answer = await searcher.search(
        "acme", RetrieveDocuments(request_id="r4", query="Сбербанк", domain="digest", graph_depth=2)
    )
    assert answer.documents
    assert answer.degraded_legs == ["graph"]
    vectors.down = True
    answer = await searcher.search(
        "acme", RetrieveDocuments(request_id="r5", query="Сбербанк", domain="qa")
    )
    assert answer.documents == []
    assert set(answer.degraded_legs) == {"dense", "sparse"}


async def test_cache_hits_and_batched_embedding(stores) -> None:  # type: ignore[no-untyped-def]
    indexer, searcher = await _wire(stores)
    embedder = stores[3]
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    before = embedder.calls
    requests = [
        ("acme", RetrieveDocuments(request_id=f"q{i}", query=q, domain="qa"))
        for i, q in enumerate(["кратер", "экзопланета", "вклады"])
    ]
    answers = await searcher.search_many(requests)
    assert embedder.calls == before + 1  # three queries, one embedding call
    assert [a.request_id for a in answers] == ["q0", "q1", "q2"]
    again = await searcher.search("acme", requests[0][1])
    assert again.cache_hit
    assert embedder.calls == before + 1
    await indexer.index([_incoming("acme", "-1003", 5, "Новый кратер")])
    searcher.invalidate("acme")
    assert not (await searcher.search("acme", requests[0][1])).cache_hit


async def test_each_answer_is_handed_over_as_soon_as_it_is_ready(stores) -> None:  # type: ignore[no-untyped-def]
    indexer, searcher = await _wire(stores)
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    cached = RetrieveDocuments(request_id="c0", query="кратер", domain="qa")
    await searcher.search("acme", cached)
    fresh = RetrieveDocuments(request_id="f1", query="вклады", domain="qa", graph_depth=2)
    handed: list[tuple[int, str, bool]] = []

    async def on_answer(n: int, answer: DocumentsRetrieved) -> None:
        handed.append((n, answer.request_id, answer.cache_hit))

    answers = await searcher.search_many([("acme", fresh), ("acme", cached)], on_answer)
    # The cached answer does not wait for the search; every answer is handed over once.
    assert handed == [(1, "c0", True), (0, "f1", False)]
    assert [a.request_id for a in answers] == ["f1", "c0"]


async def test_delete_removes_from_every_store(stores) -> None:  # type: ignore[no-untyped-def]
    _repo, _vectors, _graph, _embedder = stores
    indexer, searcher = await _wire(stores)
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    removed = await indexer.delete(
        "acme", PostsDeleted(channel_id="-1001", message_ids=[1, 99], deleted_at=DAY)
    )
    assert removed == ["acme:-1001:1"]
    answer = await searcher.search(
        "acme", RetrieveDocuments(request_id="r6", query="кратер необычной формы", domain="qa")
    )
    assert "acme:-1001:1" not in [d.post_id for d in answer.documents]


async def test_announcement_comes_before_the_mark_and_a_failed_one_leaves_posts_unmarked(
    stores,  # type: ignore[no-untyped-def]
) -> None:
    """A crash between the store writes and the announcement must not lose the announcement:
    the posts stay unmarked, so the redelivered batch writes and announces them again."""
    repo, vectors, graph, embedder = stores
    await vectors.ensure_collection(embedder.dim)
    indexer = Indexer(
        repo=repo, vectors=vectors, graph=graph, embedder=embedder, sparse=Bm25Encoder(), chunk=2
    )
    batch = [_incoming("acme", c, m, t) for c, m, t in POSTS]
    announced: list[str] = []

    async def broken(points: list[IndexedPoint]) -> None:
        raise ConnectionError("kafka down")

    with pytest.raises(ConnectionError):
        await indexer.index(batch, announce=broken)
    assert repo.indexed == set()

    async def announce(points: list[IndexedPoint]) -> None:
        assert not any(("acme", p.post.post_id) in repo.indexed for p in points)
        announced.extend(p.post.post_id for p in points)

    again = await indexer.index(batch, announce=announce)
    assert len(again.written) == 4
    assert announced == [p.post.post_id for p in again.written]
    assert len(repo.indexed) == 4
    third = await indexer.index(batch, announce=announce)
    assert third.written == []
    assert len(announced) == 4


async def test_an_answer_computed_across_an_invalidation_is_not_cached(stores) -> None:  # type: ignore[no-untyped-def]
    """A search in flight while the tenant's posts change must not put its (stale) answer into
    the cache: a deleted post would be served from there for the cache's lifetime."""
    indexer, searcher = await _wire(stores)
    await indexer.index([_incoming("acme", c, m, t) for c, m, t in POSTS])
    _, vectors, _, _ = stores
    release = asyncio.Event()
    original = vectors.search_sparse

    async def slow_sparse(*args, **kwargs):  # type: ignore[no-untyped-def]
        await release.wait()
        return await original(*args, **kwargs)

    vectors.search_sparse = slow_sparse
    request = RetrieveDocuments(request_id="r1", query="кратер необычной формы", domain="qa")
    in_flight = asyncio.create_task(searcher.search("acme", request))
    await asyncio.sleep(0.01)
    searcher.invalidate("acme")  # e.g. posts.deleted arrived meanwhile
    release.set()
    first = await in_flight
    assert first.cache_hit is False
    again = await searcher.search("acme", request)
    assert again.cache_hit is False  # recomputed, not the answer from before the change
    third = await searcher.search("acme", request)
    assert third.cache_hit is True  # an answer computed after the change is cached as usual
