"""One behaviour suite for every VectorStore: qdrant-client (local mode), Qdrant Edge, the fake.

Both Qdrant adapters run in-process, so this is the unit tier. The corpus is small and built by
hand so every expected ranking and filter result can be read off it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient

from services.retrieval.adapters.qdrant_client_store import QdrantClientStore
from services.retrieval.adapters.qdrant_edge_store import QdrantEdgeStore
from services.retrieval.domain.model import Hit, IndexedPoint, SearchFilters
from services.retrieval.ports import VectorStore
from tests.helpers.retrieval_fakes import FakeVectorStore, make_point, make_post, sparse

pytestmark = [
    pytest.mark.unit,
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning"),
]

DIM = 4
A, B = "tenant-a", "tenant-b"
ALL_TERMS = sparse({1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0})


def day(d: int, month: int = 1) -> datetime:
    return datetime(2024, month, d, tzinfo=UTC)


def corpus() -> dict[str, IndexedPoint]:
    """Tenant A: four posts over three channels, two languages, two chat kinds, four dates.
    Tenant B: one post identical to A's first one (same channel, text and vectors)."""
    a1 = make_post(A, "c1", 1, text="Москва и мир", date=day(1), entities=["москва", "москва"])
    a2 = make_post(A, "c1", 2, text="London calling", date=day(5), language="en")
    a3 = make_post(A, "c2", 3, text="Группа", date=day(10), chat_kind="group")
    a4 = make_post(A, "c3", 4, text="Group chat", date=day(20), language="en", chat_kind="group")
    b1 = make_post(B, "c1", 1, text="Москва и мир", date=day(1), entities=["москва"])
    return {
        "a1": make_point(a1, [1, 0, 0, 0], {1: 1.0, 2: 1.0}),
        "a2": make_point(a2, [0.9, 0.1, 0, 0], {1: 1.0, 3: 1.0}),
        "a3": make_point(a3, [0, 1, 0, 0], {2: 1.0, 4: 1.0}),
        "a4": make_point(a4, [0, 0, 1, 0], {5: 1.0}),
        "b1": make_point(b1, [1, 0, 0, 0], {1: 1.0, 2: 1.0}),
    }


POINTS = corpus()
PID = {name: p.post.post_id for name, p in POINTS.items()}
NAME = {pid: name for name, pid in PID.items()}
A_NAMES = {"a1", "a2", "a3", "a4"}


@pytest.fixture(params=["fake", "qdrant_client", "qdrant_edge"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    s: VectorStore
    if request.param == "fake":
        s = FakeVectorStore()
    elif request.param == "qdrant_client":
        s = QdrantClientStore(AsyncQdrantClient(location=":memory:"), model_name="test/model")
    else:
        s = QdrantEdgeStore(tmp_path, model_name="test/model")
    await s.ensure_collection(DIM)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def seeded(store: VectorStore) -> VectorStore:
    await store.upsert(list(POINTS.values()))
    return store


def names(hits: list[Hit]) -> list[str]:
    return [NAME[h.post_id] for h in hits]


async def test_dense_search_ranks_by_cosine(seeded: VectorStore) -> None:
    hits = await seeded.search_dense([1, 0, 0, 0], SearchFilters(A), 10)
    assert names(hits)[:2] == ["a1", "a2"]
    assert set(names(hits)) <= A_NAMES
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].score > hits[1].score
    assert {h.leg for h in hits} == {"dense"}


async def test_sparse_search_ranks_by_shared_terms(seeded: VectorStore) -> None:
    hits = await seeded.search_sparse(sparse({1: 1.0, 3: 1.0}), SearchFilters(A), 10)
    assert names(hits)[:2] == ["a2", "a1"]  # a2 has both terms, a1 only one
    assert {h.leg for h in hits} == {"sparse"}
    only3 = await seeded.search_sparse(sparse({3: 1.0}), SearchFilters(A), 10)
    assert names(only3) == ["a2"]


async def test_a_rare_term_outranks_a_common_one(store: VectorStore) -> None:
    common = [
        make_point(make_post(A, "idf", n, text=f"common {n}"), [1, 0, 0, 0], {10: 1.0})
        for n in range(1, 6)
    ]
    rare = make_point(make_post(A, "idf", 9, text="rare"), [1, 0, 0, 0], {20: 1.0})
    await store.upsert([*common, rare])
    hits = await store.search_sparse(sparse({10: 1.0, 20: 1.0}), SearchFilters(A), 10)
    assert hits[0].post_id == rare.post.post_id
    assert hits[0].score > 2 * hits[1].score
    assert len(hits) == 6


async def test_idf_is_computed_over_the_tenants_own_points(seeded: VectorStore) -> None:
    query = sparse({1: 1.0, 5: 1.0})
    before = await seeded.search_sparse(query, SearchFilters(A), 10)
    flood = [make_point(make_post(B, "flood", n), [0, 0, 0, 1], {5: 1.0}) for n in range(1, 30)]
    await seeded.upsert(flood)
    after = await seeded.search_sparse(query, SearchFilters(A), 10)
    assert names(after) == names(before)
    assert [h.score for h in after] == pytest.approx([h.score for h in before], rel=1e-4)


async def test_upsert_is_idempotent(store: VectorStore) -> None:
    await store.upsert(list(POINTS.values()))
    await store.upsert(list(POINTS.values()))
    hits = await store.search_dense([1, 1, 1, 1], SearchFilters(A), 100)
    assert sorted(names(hits)) == sorted(A_NAMES)
    fetched = await store.fetch(SearchFilters(A), [PID[n] for n in sorted(A_NAMES)])
    assert len(fetched) == 4


async def test_upsert_replaces_the_point(seeded: VectorStore) -> None:
    old = POINTS["a3"].post
    edited = make_post(A, "c2", 3, text="Изменённый текст", date=old.date, chat_kind="group")
    await seeded.upsert([make_point(edited, [0, 0, 0, 1], {7: 1.0})])
    [hit] = await seeded.fetch(SearchFilters(A), [PID["a3"]])
    assert hit.text == "Изменённый текст"
    top = await seeded.search_dense([0, 0, 0, 1], SearchFilters(A), 1)
    assert names(top) == ["a3"]
    assert names(await seeded.search_sparse(sparse({4: 1.0}), SearchFilters(A), 10)) == []


async def test_delete_removes_points_of_that_tenant_only(seeded: VectorStore) -> None:
    await seeded.delete(A, [PID["a1"], "tenant-a:nowhere:404"])
    await seeded.delete(B, [PID["a2"]])  # another tenant cannot delete A's post
    filters = SearchFilters(A)
    assert "a1" not in names(await seeded.search_dense([1, 0, 0, 0], filters, 10))
    assert "a1" not in names(await seeded.search_sparse(ALL_TERMS, filters, 10))
    assert names(await seeded.fetch(filters, [PID["a1"], PID["a2"]])) == ["a2"]
    assert names(await seeded.fetch(SearchFilters(B), [PID["b1"]])) == ["b1"]
    await seeded.delete(A, [])


async def test_identical_posts_of_two_tenants_never_mix(seeded: VectorStore) -> None:
    for tenant, own in ((A, A_NAMES), (B, {"b1"})):
        dense = await seeded.search_dense([1, 0, 0, 0], SearchFilters(tenant), 10)
        sparse_hits = await seeded.search_sparse(ALL_TERMS, SearchFilters(tenant), 10)
        assert set(names(dense)) <= own
        assert set(names(sparse_hits)) <= own
        assert names(dense)[0] == ("a1" if tenant == A else "b1")
    assert await seeded.fetch(SearchFilters(A), [PID["b1"]]) == []
    assert await seeded.search_dense([1, 0, 0, 0], SearchFilters("tenant-c"), 10) == []


async def test_a_reused_post_id_does_not_overwrite_another_tenants_point(
    seeded: VectorStore,
) -> None:
    forged = replace(make_post(B, "c1", 2, text="forged"), post_id=PID["a2"])
    await seeded.upsert([make_point(forged, [0, 0, 0, 1], {3: 1.0})])
    [mine] = await seeded.fetch(SearchFilters(A), [PID["a2"]])
    assert mine.text == "London calling"
    [theirs] = await seeded.fetch(SearchFilters(B), [PID["a2"]])
    assert theirs.text == "forged"


FILTER_CASES = [
    pytest.param({"channels": ("c1",)}, {"a1", "a2"}, id="channel"),
    pytest.param({"channels": ("c1", "c2")}, {"a1", "a2", "a3"}, id="channels"),
    pytest.param({"since": day(5)}, {"a2", "a3", "a4"}, id="since-inclusive"),
    pytest.param({"until": day(5)}, {"a1", "a2"}, id="until-inclusive"),
    pytest.param({"since": day(5), "until": day(10)}, {"a2", "a3"}, id="window"),
    pytest.param({"since": day(5), "until": day(5)}, {"a2"}, id="instant"),
    pytest.param({"languages": ("en",)}, {"a2", "a4"}, id="language"),
    pytest.param({"languages": ("en", "ru")}, A_NAMES, id="languages"),
    pytest.param({"chat_kind": "group"}, {"a3", "a4"}, id="chat-kind"),
    pytest.param({"channels": ("c1",), "languages": ("en",)}, {"a2"}, id="channel+language"),
    pytest.param({"channels": ("nowhere",)}, set(), id="no-such-channel"),
    pytest.param({"since": day(1, month=6)}, set(), id="future-window"),
    pytest.param({"until": day(1).replace(year=2020)}, set(), id="past-window"),
    pytest.param({"languages": ("de",)}, set(), id="no-such-language"),
    pytest.param({"channels": ("c1",), "chat_kind": "group"}, set(), id="contradiction"),
]


@pytest.mark.parametrize(("extra", "expected"), FILTER_CASES)
async def test_every_leg_applies_every_filter(
    seeded: VectorStore, extra: dict[str, object], expected: set[str]
) -> None:
    filters = SearchFilters(A, **extra)  # type: ignore[arg-type]
    dense = await seeded.search_dense([1, 0, 0, 0], filters, 10)
    lexical = await seeded.search_sparse(ALL_TERMS, filters, 10)
    fetched = await seeded.fetch(filters, [PID[n] for n in sorted(POINTS)])
    assert set(names(dense)) == expected
    assert set(names(lexical)) == expected
    assert set(names(fetched)) == expected


async def test_hits_carry_the_payload(store: VectorStore) -> None:
    post = make_post(
        A,
        "c9",
        77,
        text="x" * 5000,
        date=datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC),
        language="en",
        entities=["alpha", "beta", "alpha"],
        permalink="https://t.me/c9/77",
        duplicate_of="tenant-a:c1:1",
    )
    await store.upsert([make_point(post, [0, 1, 0, 0], {3: 2.0})])
    [hit] = await store.search_dense([0, 1, 0, 0], SearchFilters(A, channels=("c9",)), 5)
    assert hit.post_id == post.post_id
    assert hit.channel_id == "c9"
    assert hit.channel_title == "Channel c9"
    assert hit.message_id == 77
    assert hit.date == post.date
    assert hit.language == "en"
    assert hit.entities == ("alpha", "beta")
    assert hit.permalink == "https://t.me/c9/77"
    assert hit.text == "x" * 2000
    assert hit.duplicate_of == "tenant-a:c1:1"
    [fetched] = await store.fetch(SearchFilters(A), [post.post_id])
    assert (fetched.score, fetched.leg, fetched.text) == (0.0, "graph", "x" * 2000)


async def test_light_hits_carry_what_fusion_needs_and_rank_like_whole_ones(
    seeded: VectorStore,
) -> None:
    post = make_post(A, "c9", 78, text="light", duplicate_of="tenant-a:c1:1")
    await seeded.upsert([make_point(post, [0, 1, 0, 0], {3: 2.0})])
    filters = SearchFilters(A)
    for whole, light in [
        (
            await seeded.search_dense([0, 1, 0, 0], filters, 10),
            await seeded.search_dense([0, 1, 0, 0], filters, 10, light=True),
        ),
        (
            await seeded.search_sparse(ALL_TERMS, filters, 10),
            await seeded.search_sparse(ALL_TERMS, filters, 10, light=True),
        ),
        (
            await seeded.fetch(filters, [post.post_id, PID["a1"]]),
            await seeded.fetch(filters, [post.post_id, PID["a1"]], light=True),
        ),
    ]:
        assert [(h.post_id, h.score, h.duplicate_of) for h in light] == [
            (h.post_id, h.score, h.duplicate_of) for h in whole
        ]
        assert any(h.duplicate_of == "tenant-a:c1:1" for h in light)
        assert all(h.text == "" and h.permalink is None for h in light)


async def test_limits_and_empty_queries(seeded: VectorStore) -> None:
    assert len(await seeded.search_dense([1, 0, 0, 0], SearchFilters(A), 1)) == 1
    assert len(await seeded.search_sparse(ALL_TERMS, SearchFilters(A), 2)) == 2
    assert await seeded.search_dense([1, 0, 0, 0], SearchFilters(A), 0) == []
    assert await seeded.search_sparse(sparse({}), SearchFilters(A), 10) == []
    assert await seeded.search_sparse(sparse({99: 1.0}), SearchFilters(A), 10) == []
    assert await seeded.fetch(SearchFilters(A), []) == []


async def test_fetch_keeps_the_order_asked_and_skips_unknown_ids(seeded: VectorStore) -> None:
    asked = [PID["a3"], "tenant-a:c1:999", PID["a1"], PID["a3"]]
    assert names(await seeded.fetch(SearchFilters(A), asked)) == ["a3", "a1"]


async def test_an_empty_tenant_is_refused(seeded: VectorStore) -> None:
    with pytest.raises(ValueError, match="tenant"):
        await seeded.search_dense([1, 0, 0, 0], SearchFilters(""), 10)
    with pytest.raises(ValueError, match="tenant"):
        await seeded.upsert([make_point(make_post("", "c1", 1), [1, 0, 0, 0])])


async def test_ensure_collection_is_idempotent_and_checks_the_dimension(
    seeded: VectorStore,
) -> None:
    await seeded.ensure_collection(DIM)
    assert len(await seeded.fetch(SearchFilters(A), [PID["a1"]])) == 1
    with pytest.raises(ValueError, match="size"):
        await seeded.ensure_collection(DIM + 1)
    await seeded.ping()
