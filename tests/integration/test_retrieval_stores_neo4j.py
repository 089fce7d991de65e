"""Neo4jGraph against the real Neo4j: the GraphStore behaviour suite, plus what only the real
graph shows (constraints, node and edge counts, stubs, orphans, batching)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import neo4j
import pytest

from services.retrieval.adapters.neo4j_graph import Neo4jGraph
from tests.helpers.retrieval_fakes import make_post
from tests.unit.retrieval.test_store_graph import HUB_LIMIT, GraphStoreBehaviour

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def driver(infra: dict[str, str]) -> AsyncIterator[neo4j.AsyncDriver]:
    drv = neo4j.AsyncGraphDatabase.driver(infra["TGI_NEO4J_URI"], auth=None)
    try:
        await Neo4jGraph(drv).ensure_schema()
        yield drv
    finally:
        await drv.close()


async def _run(driver: neo4j.AsyncDriver, query: str, **params: Any) -> list[dict[str, Any]]:
    result = await driver.execute_query(query, params)
    return [r.data() for r in result.records]


@pytest.fixture
async def cleanup(driver: neo4j.AsyncDriver) -> AsyncIterator[list[str]]:
    tenants: list[str] = []
    yield tenants
    for t in tenants:
        for label in ("Post", "Channel", "Entity"):
            await _run(driver, f"MATCH (n:{label}) WHERE n.tenant_id = $t DETACH DELETE n", t=t)


class TestNeo4jGraph(GraphStoreBehaviour):
    @pytest.fixture
    def graph(self, driver: neo4j.AsyncDriver, tenant: str, cleanup: list[str]) -> Neo4jGraph:
        cleanup.extend([tenant, f"{tenant}x"])
        return Neo4jGraph(driver, hub_limit=HUB_LIMIT)

    async def test_schema_is_idempotent_and_backs_the_keys(
        self, graph: Neo4jGraph, driver: neo4j.AsyncDriver
    ) -> None:
        await graph.ensure_schema()
        rows = await _run(driver, "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties")
        keys = {r["name"]: (r["labelsOrTypes"], r["properties"]) for r in rows}
        assert keys["retrieval_post_key"] == (["Post"], ["tenant_id", "post_id"])
        assert keys["retrieval_channel_key"] == (["Channel"], ["tenant_id", "channel_id"])
        assert keys["retrieval_entity_key"] == (["Entity"], ["tenant_id", "normalized"])

    async def test_the_graph_has_the_documented_shape_and_repeats_change_nothing(
        self, graph: Neo4jGraph, driver: neo4j.AsyncDriver, tenant: str
    ) -> None:
        posts = [
            make_post(tenant, "c1", 1, entities=["alpha", "beta"]),
            make_post(tenant, "c1", 2, entities=["alpha"], reply_to_message_id=1),
            make_post(tenant, "c2", 3, entities=["beta"], forwarded_from="source-channel"),
        ]
        shape = """
            MATCH (n) WHERE n.tenant_id = $t
            OPTIONAL MATCH (n)-[r]->(m)
            RETURN labels(n)[0] AS label, type(r) AS rel, m.tenant_id AS to_tenant, count(*) AS n
            ORDER BY label, rel
        """
        await graph.write_posts(posts)
        first = await _run(driver, shape, t=tenant)
        await graph.write_posts(posts)
        assert await _run(driver, shape, t=tenant) == first
        counts = {(r["label"], r["rel"]): r["n"] for r in first}
        assert counts == {
            ("Channel", "POSTED"): 3,
            ("Channel", None): 1,  # the forward source, a channel with no posts of its own
            ("Entity", None): 2,
            ("Post", "MENTIONS"): 4,
            ("Post", "REPLY_TO"): 1,
            ("Post", "FORWARDED_FROM"): 1,
        }
        assert {r["to_tenant"] for r in first if r["rel"]} == {tenant}

    async def test_a_stub_becomes_the_post_and_is_never_duplicated(
        self, graph: Neo4jGraph, driver: neo4j.AsyncDriver, tenant: str
    ) -> None:
        await graph.write_posts([make_post(tenant, "c1", 2, reply_to_message_id=1)])
        query = "MATCH (p:Post {tenant_id: $t, post_id: $id}) RETURN p.stub AS stub, p.date AS d"
        target = make_post(tenant, "c1", 1).post_id
        assert await _run(driver, query, t=tenant, id=target) == [{"stub": True, "d": None}]
        await graph.write_posts([make_post(tenant, "c1", 1)])
        [row] = await _run(driver, query, t=tenant, id=target)
        assert row["stub"] is False
        assert row["d"] is not None

    async def test_entities_nobody_mentions_are_dropped(
        self, graph: Neo4jGraph, driver: neo4j.AsyncDriver, tenant: str
    ) -> None:
        entities = "MATCH (e:Entity {tenant_id: $t}) RETURN e.normalized AS e ORDER BY e"
        await graph.write_posts([make_post(tenant, "c1", 1, entities=["alpha", "beta"])])
        await graph.write_posts([make_post(tenant, "c1", 1, entities=["beta", "gamma"])])
        assert await _run(driver, entities, t=tenant) == [{"e": "beta"}, {"e": "gamma"}]
        await graph.delete_posts(tenant, [make_post(tenant, "c1", 1).post_id])
        assert await _run(driver, entities, t=tenant) == []

    async def test_hostile_text_is_stored_verbatim(
        self, graph: Neo4jGraph, driver: neo4j.AsyncDriver, tenant: str
    ) -> None:
        evil = "x'}) MATCH (n) DETACH DELETE n //"
        channel = 'c"; DROP'
        await graph.write_posts(
            [make_post(tenant, channel, 1, entities=[evil], forwarded_from=evil)]
        )
        names = await _run(
            driver, "MATCH (e:Entity {tenant_id: $t}) RETURN e.normalized AS v", t=tenant
        )
        channels = await _run(
            driver,
            "MATCH (c:Channel {tenant_id: $t}) RETURN c.channel_id AS v ORDER BY v",
            t=tenant,
        )
        assert names == [{"v": evil}]
        assert sorted(r["v"] for r in channels) == sorted([channel, evil])

    async def test_large_batches_are_split_into_transactions(
        self, graph: Neo4jGraph, driver: neo4j.AsyncDriver, tenant: str
    ) -> None:
        posts = [make_post(tenant, "c1", n, entities=[f"e{n % 7}"]) for n in range(1, 1202)]
        await graph.write_posts(posts)
        [row] = await _run(driver, "MATCH (p:Post {tenant_id: $t}) RETURN count(p) AS n", t=tenant)
        assert row["n"] == 1201

    async def test_ping(self, graph: Neo4jGraph) -> None:
        await graph.ping()
