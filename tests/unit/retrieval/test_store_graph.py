"""The GraphStore behaviour suite, run here against the fake and in
``tests/integration/test_retrieval_stores_neo4j.py`` against Neo4j.

A subclass provides a ``graph`` fixture whose store skips entities mentioned by more than
``HUB_LIMIT`` posts, and a ``tenant`` unique to the test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.retrieval.domain.model import Post
from services.retrieval.ports import GraphStore
from tests.helpers.retrieval_fakes import FakeGraphStore, make_post

pytestmark = pytest.mark.unit

HUB_LIMIT = 4


def ids(ranked: list[tuple[str, float]]) -> list[str]:
    return [pid for pid, _ in ranked]


class GraphStoreBehaviour:
    @pytest.fixture
    def tenant(self) -> str:
        return f"t{uuid.uuid4().hex[:12]}"

    def post(self, tenant: str, n: int, *entities: str, **fields: object) -> Post:
        return make_post(tenant, "c1", n, entities=entities, **fields)  # type: ignore[arg-type]

    async def test_depth_one_ranks_by_shared_entities_and_excludes_seeds(
        self, graph: GraphStore, tenant: str
    ) -> None:
        p = self.post
        await graph.write_posts(
            [
                p(tenant, 1, "alpha", "beta", "gamma"),
                p(tenant, 2, "alpha", "beta"),
                p(tenant, 3, "gamma"),
                p(tenant, 4, "delta"),
                p(tenant, 5, "alpha", "delta"),
            ]
        )
        seed = p(tenant, 1).post_id
        ranked = await graph.expand(tenant, [seed], depth=1, limit=10)
        assert ids(ranked) == [p(tenant, 2).post_id, p(tenant, 3).post_id, p(tenant, 5).post_id]
        scores = [s for _, s in ranked]
        assert scores[0] > scores[1] == scores[2] > 0

    async def test_depth_two_reaches_further_and_ranks_it_lower(
        self, graph: GraphStore, tenant: str
    ) -> None:
        p = self.post
        await graph.write_posts(
            [
                p(tenant, 1, "alpha"),
                p(tenant, 2, "alpha", "beta"),
                p(tenant, 3, "beta", "gamma"),
                p(tenant, 4, "gamma", "delta"),
            ]
        )
        seed = [p(tenant, 1).post_id]
        one = await graph.expand(tenant, seed, depth=1, limit=10)
        two = await graph.expand(tenant, seed, depth=2, limit=10)
        three = await graph.expand(tenant, seed, depth=3, limit=10)
        assert ids(one) == [p(tenant, 2).post_id]
        assert ids(two) == [p(tenant, 2).post_id, p(tenant, 3).post_id]
        assert ids(three) == [p(tenant, n).post_id for n in (2, 3, 4)]
        assert three[0][1] > three[1][1] > three[2][1]

    async def test_replies_link_posts_both_ways(self, graph: GraphStore, tenant: str) -> None:
        p = self.post
        await graph.write_posts(
            [p(tenant, 1), p(tenant, 2, reply_to_message_id=1), p(tenant, 3, reply_to_message_id=2)]
        )
        down = await graph.expand(tenant, [p(tenant, 1).post_id], depth=2, limit=10)
        up = await graph.expand(tenant, [p(tenant, 3).post_id], depth=1, limit=10)
        assert ids(down) == [p(tenant, 2).post_id, p(tenant, 3).post_id]
        assert ids(up) == [p(tenant, 2).post_id]

    async def test_a_reply_to_a_missing_post_is_not_returned_until_it_arrives(
        self, graph: GraphStore, tenant: str
    ) -> None:
        p = self.post
        await graph.write_posts([p(tenant, 2, reply_to_message_id=1)])
        replier = [p(tenant, 2).post_id]
        assert await graph.expand(tenant, replier, depth=1, limit=10) == []
        await graph.write_posts([p(tenant, 1)])
        assert ids(await graph.expand(tenant, replier, depth=1, limit=10)) == [p(tenant, 1).post_id]

    async def test_writes_are_idempotent(self, graph: GraphStore, tenant: str) -> None:
        p = self.post
        batch = [p(tenant, 1, "alpha", "beta"), p(tenant, 2, "alpha", "beta")]
        await graph.write_posts(batch)
        first = await graph.expand(tenant, [batch[0].post_id], depth=2, limit=10)
        await graph.write_posts(batch)
        await graph.write_posts(batch[1:])
        assert await graph.expand(tenant, [batch[0].post_id], depth=2, limit=10) == first

    async def test_an_edit_replaces_the_mentions(self, graph: GraphStore, tenant: str) -> None:
        p = self.post
        await graph.write_posts(
            [p(tenant, 1, "alpha"), p(tenant, 2, "beta"), p(tenant, 3, "alpha")]
        )
        await graph.write_posts([p(tenant, 3, "beta")])
        assert ids(await graph.expand(tenant, [p(tenant, 1).post_id], depth=1, limit=10)) == []
        assert ids(await graph.expand(tenant, [p(tenant, 2).post_id], depth=1, limit=10)) == [
            p(tenant, 3).post_id
        ]

    async def test_a_batch_naming_a_post_twice_keeps_its_newest_edit(
        self, graph: GraphStore, tenant: str
    ) -> None:
        p = self.post
        edited = p(tenant, 3, "beta", edit_date=datetime(2024, 2, 1, tzinfo=UTC))
        await graph.write_posts([p(tenant, 1, "alpha"), p(tenant, 2, "beta")])
        await graph.write_posts([edited, p(tenant, 3, "alpha")])
        assert ids(await graph.expand(tenant, [p(tenant, 1).post_id], depth=1, limit=10)) == []
        assert ids(await graph.expand(tenant, [p(tenant, 2).post_id], depth=1, limit=10)) == [
            edited.post_id
        ]

    async def test_deleted_posts_are_gone(self, graph: GraphStore, tenant: str) -> None:
        p = self.post
        await graph.write_posts([p(tenant, n, "alpha") for n in (1, 2, 3)])
        await graph.delete_posts(tenant, [p(tenant, 2).post_id, f"{tenant}:c1:404"])
        await graph.delete_posts(tenant, [])
        ranked = await graph.expand(tenant, [p(tenant, 1).post_id], depth=2, limit=10)
        assert ids(ranked) == [p(tenant, 3).post_id]

    async def test_tenants_never_meet(self, graph: GraphStore, tenant: str) -> None:
        other = f"{tenant}x"
        p = self.post
        await graph.write_posts([p(tenant, 1, "alpha"), p(tenant, 2, "alpha")])
        await graph.write_posts([p(other, 1, "alpha"), p(other, 3, "alpha")])
        mine = await graph.expand(tenant, [p(tenant, 1).post_id], depth=3, limit=10)
        assert ids(mine) == [p(tenant, 2).post_id]
        assert await graph.expand(tenant, [p(other, 1).post_id], depth=3, limit=10) == []
        await graph.delete_posts(other, [p(tenant, 2).post_id])
        assert ids(await graph.expand(tenant, [p(tenant, 1).post_id], depth=1, limit=10)) == [
            p(tenant, 2).post_id
        ]

    async def test_hub_entities_are_not_followed(self, graph: GraphStore, tenant: str) -> None:
        p = self.post
        hub = [p(tenant, n, "hub") for n in range(1, HUB_LIMIT + 2)]
        await graph.write_posts([*hub, p(tenant, 50, "hub", "rare"), p(tenant, 51, "rare")])
        ranked = await graph.expand(tenant, [p(tenant, 50).post_id], depth=1, limit=10)
        assert ids(ranked) == [p(tenant, 51).post_id]

    async def test_limit_and_depth_bound_the_answer(self, graph: GraphStore, tenant: str) -> None:
        p = self.post
        await graph.write_posts([p(tenant, n, f"e{n}", f"e{n + 1}") for n in range(1, 8)])
        seed = [p(tenant, 1).post_id]
        assert len(await graph.expand(tenant, seed, depth=3, limit=2)) == 2
        assert await graph.expand(tenant, seed, depth=0, limit=10) == []
        assert await graph.expand(tenant, seed, depth=2, limit=0) == []
        assert await graph.expand(tenant, [], depth=2, limit=10) == []

    async def test_hostile_text_is_just_data(self, graph: GraphStore, tenant: str) -> None:
        evil = "x'}) MATCH (n) DETACH DELETE n //"
        p = self.post
        await graph.write_posts(
            [
                make_post(tenant, "c1", 1, entities=[evil, '"}) RETURN 1 //'], forwarded_from=evil),
                make_post(tenant, "c1", 2, entities=[evil]),
            ]
        )
        assert ids(await graph.expand(tenant, [p(tenant, 1).post_id], depth=1, limit=10)) == [
            p(tenant, 2).post_id
        ]
        assert await graph.expand(tenant, [evil], depth=2, limit=10) == []
        with pytest.raises(ValueError, match="tenant"):
            await graph.expand("", [p(tenant, 1).post_id], depth=1, limit=10)


class TestFakeGraphStore(GraphStoreBehaviour):
    @pytest.fixture
    def graph(self) -> GraphStore:
        return FakeGraphStore(hub_limit=HUB_LIMIT)
