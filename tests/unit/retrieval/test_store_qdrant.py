"""What is particular to the Qdrant adapters: names, ids, payload bounds, Edge's shard on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import qdrant_edge as qe
from qdrant_client import AsyncQdrantClient

from services.retrieval.adapters import qdrant_payload as qp
from services.retrieval.adapters.qdrant_client_store import QdrantClientStore
from services.retrieval.adapters.qdrant_edge_store import QdrantEdgeStore
from services.retrieval.domain.model import SearchFilters
from tests.helpers.retrieval_fakes import make_point, make_post

pytestmark = [
    pytest.mark.unit,
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning"),
]


def test_collection_names_are_safe_and_distinct_per_model() -> None:
    assert qp.collection_name("navec-hudlit-v1") == "posts__navec-hudlit-v1"
    bge = qp.collection_name("BAAI/bge-m3")
    assert bge.startswith("posts__baai_bge-m3_")
    assert qp.collection_name("baai_bge-m3") == "posts__baai_bge-m3"
    assert bge != qp.collection_name("baai_bge-m3")
    assert qp.collection_name("../../etc") != qp.collection_name("etc")
    assert "/" not in qp.collection_name("../../etc")
    with pytest.raises(ValueError, match="usable"):
        qp.collection_name("///")


def test_point_ids_are_stable_uuids_scoped_by_tenant() -> None:
    first = qp.point_id("t1", "t1:c:1")
    assert first == qp.point_id("t1", "t1:c:1")
    assert first != qp.point_id("t2", "t1:c:1")
    assert len(first) == 36


def test_the_payload_is_bounded_and_always_names_the_tenant() -> None:
    post = make_post("t1", "c1", 5, text="слово " * 20_000, entities=[f"e{n}" for n in range(1000)])
    data = qp.payload(post)
    assert data["tenant_id"] == "t1"
    assert len(data["text"]) == qp.SNIPPET_CHARS
    assert len(data["entities"]) == qp.MAX_ENTITIES
    assert data["date"] == "2024-01-01T00:00:00Z"


async def test_two_embedding_models_never_share_a_collection() -> None:
    client = AsyncQdrantClient(location=":memory:")
    small = QdrantClientStore(client, model_name="model-small")
    large = QdrantClientStore(client, model_name="model-large")
    await small.ensure_collection(4)
    await large.ensure_collection(8)
    post = make_post("t1", "c1", 1)
    await small.upsert([make_point(post, [1, 0, 0, 0])])
    assert await large.fetch(SearchFilters("t1"), [post.post_id]) == []
    assert len(await small.fetch(SearchFilters("t1"), [post.post_id])) == 1
    await client.close()


async def test_edge_shard_persists_with_real_payload_indexes(tmp_path: Path) -> None:
    store = QdrantEdgeStore(tmp_path, model_name="m")
    await store.ensure_collection(4)
    post = make_post("t1", "c1", 1, text="persisted")
    await store.upsert([make_point(post, [1, 0, 0, 0], {1: 1.0})])
    await store.close()
    await store.close()  # idempotent

    shard = qe.EdgeShard.load(str(store.path))
    schema = {k: v.data_type for k, v in shard.info().payload_schema.items()}
    shard.close()
    assert schema == {
        "tenant_id": qe.PayloadSchemaType.Keyword,
        "channel_id": qe.PayloadSchemaType.Keyword,
        "language": qe.PayloadSchemaType.Keyword,
        "chat_kind": qe.PayloadSchemaType.Keyword,
        "date": qe.PayloadSchemaType.Datetime,
    }

    reopened = QdrantEdgeStore(tmp_path, model_name="m")
    await reopened.ensure_collection(4)
    [hit] = await reopened.fetch(SearchFilters("t1"), [post.post_id])
    assert hit.text == "persisted"
    await reopened.close()

    wrong = QdrantEdgeStore(tmp_path, model_name="m")
    with pytest.raises(ValueError, match="size"):
        await wrong.ensure_collection(8)
    await wrong.close()


async def test_edge_store_refuses_use_before_open_and_after_close(tmp_path: Path) -> None:
    store = QdrantEdgeStore(tmp_path, model_name="m")
    with pytest.raises(RuntimeError, match="ensure_collection"):
        await store.search_dense([1, 0, 0, 0], SearchFilters("t1"), 5)
    await store.ensure_collection(4)
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.ping()


async def test_edge_store_serialises_concurrent_callers(tmp_path: Path) -> None:
    store = QdrantEdgeStore(tmp_path, model_name="m")
    await store.ensure_collection(4)
    points = [make_point(make_post("t1", "c1", n), [1, n, 0, 0], {n: 1.0}) for n in range(1, 201)]

    async def write(chunk: int) -> None:
        await store.upsert(points[chunk * 20 : (chunk + 1) * 20])

    async def read() -> int:
        return len(await store.search_dense([1, 0, 0, 0], SearchFilters("t1"), 300))

    await asyncio.gather(*(write(n) for n in range(10)), *(read() for _ in range(20)))
    assert await read() == 200
    await store.close()


async def test_edge_store_optimises_once_enough_was_written_and_writing_paused(
    tmp_path: Path,
) -> None:
    store = QdrantEdgeStore(tmp_path, model_name="m")
    await store.ensure_collection(4)
    points = [make_point(make_post("t1", "c1", n), [1, n, 0, 0], {n: 1.0}) for n in range(1, 31)]
    await store.upsert(points[:20])
    assert not await store.optimize_if_settled(min_points=30, quiet_s=0)  # too few yet
    await store.upsert(points[20:])
    assert not await store.optimize_if_settled(min_points=30, quiet_s=60)  # still writing
    before = await store.search_dense([1, 3, 0, 0], SearchFilters("t1"), 30)
    assert await store.optimize_if_settled(min_points=30, quiet_s=0)
    assert not await store.optimize_if_settled(min_points=30, quiet_s=0)  # counted afresh
    assert not await store.optimize_if_settled(min_points=0, quiet_s=0)  # 0 turns it off
    after = await store.search_dense([1, 3, 0, 0], SearchFilters("t1"), 30)
    assert [h.post_id for h in after] == [h.post_id for h in before]
    await store.close()
    # Reopened, the shard's points count as not yet optimised (an earlier run may not have).
    reopened = QdrantEdgeStore(tmp_path, model_name="m")
    await reopened.ensure_collection(4)
    assert await reopened.optimize_if_settled(min_points=30, quiet_s=0)
    await reopened.close()
