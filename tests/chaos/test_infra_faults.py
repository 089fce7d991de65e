"""Server faults mid-stream, on private servers (the shared ones keep serving other tests):
the Kafka broker SIGKILLed and restarted, Postgres restarted (fast shutdown), Neo4j stopped
(retrieval answers degraded and names the graph leg, indexing waits in the DLQ) and started
again. Afterwards every post is in every store exactly once and every lifecycle event is
stored once."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import neo4j
import pytest

from contracts.envelope import make_envelope
from contracts.v1.posts import PostIngested
from contracts.v1.retrieval import RetrieveDocuments
from servicekit.app import ServiceKit
from tests.helpers.chaos import Fleet, Producer, eventually, fleet_env, read_all
from tests.helpers.chaos_infra import PrivateInfra
from tests.helpers.kit import probe_settings, running
from tools.dataset import channel_posts

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]
STREAM = 2000
RATE_PER_S = 60.0


async def _stream(
    producer: Producer, prefix: str, tenant: str, posts: list[PostIngested], state: dict[str, int]
) -> None:
    started = time.monotonic()
    for i, post in enumerate(posts, start=1):
        await producer.send_post(prefix, tenant, post, producer="chaos@0")
        state["published"] = i
        ahead = started + i / RATE_PER_S - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)


async def _indexed(dsn: str, tenant: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM retrieval.posts WHERE tenant_id = $1", tenant)
        )
    finally:
        await conn.close()


async def _safe_indexed(dsn: str, tenant: str) -> int:
    try:
        return await _indexed(dsn, tenant)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return -1


async def _graph_posts(uri: str, tenant: str) -> Counter[str]:
    driver = neo4j.AsyncGraphDatabase.driver(uri)
    try:
        records, _, _ = await driver.execute_query(
            "MATCH (p:Post {tenant_id: $t}) WHERE p.stub = false RETURN p.post_id AS id",
            t=tenant,
        )
    finally:
        await driver.close()
    return Counter(r["id"] for r in records)


async def _assert_once_everywhere(
    *, dsn: str, neo4j_uri: str, bootstrap: str, prefix: str, tenant: str, expected: set[str]
) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT post_id FROM retrieval.posts WHERE tenant_id = $1", tenant)
        assert Counter(r["post_id"] for r in rows) == Counter(expected)
        assert await _graph_posts(neo4j_uri, tenant) == Counter(expected)
        on_bus = {d["event_id"] for d in await read_all(bootstrap, prefix + "lifecycle.v1")}

        async def stored() -> bool:
            ids = await conn.fetch("SELECT event_id::text AS id FROM memory.episodes")
            return on_bus <= {r["id"] for r in ids}

        await eventually(stored, timeout_s=120, what="every lifecycle event stored")
        assert not await conn.fetch(
            "SELECT event_id FROM memory.episodes GROUP BY event_id HAVING count(*) > 1"
        )
        return len(on_bus)
    finally:
        await conn.close()


def _posts(skip: int) -> list[PostIngested]:
    return list(itertools.islice(channel_posts(), skip, skip + STREAM))


async def test_kafka_broker_killed_and_restarted_mid_stream(
    infra: dict[str, str], pg_dsn: str, tmp_path: Path, chaos_report: dict[str, Any]
) -> None:
    private = PrivateInfra()
    fleet: Fleet | None = None
    try:
        up_s = await private.run("up", "kafka")
        prefix, tenant = f"ck{uuid.uuid4().hex[:6]}.", f"ck{uuid.uuid4().hex[:8]}"
        fleet = Fleet(
            env=fleet_env(
                bootstrap=private.bootstrap,
                pg_dsn=pg_dsn,
                neo4j_uri=infra["TGI_NEO4J_URI"],
                prefix=prefix,
                state=tmp_path,
            ),
            logs=tmp_path,
        )
        await fleet.start_all(["memory", "dlq", "retrieval"])
        posts = _posts(10_000)
        expected = {p.natural_key(tenant) for p in posts}
        state = {"published": 0}
        async with Producer(private.bootstrap) as producer:
            flowing = asyncio.create_task(_stream(producer, prefix, tenant, posts, state))
            await eventually(lambda: state["published"] >= STREAM // 4, timeout_s=300)
            before = await _indexed(pg_dsn, tenant)
            killed = time.monotonic()
            await private.run("kill", "kafka")
            await asyncio.sleep(3)
            restart_s = await private.run("up", "kafka")
            back = time.monotonic()
            await eventually(
                lambda: _grew(pg_dsn, tenant, max(before, 0)),
                timeout_s=300,
                what="indexing resumes",
            )
            resumed = time.monotonic()
            await flowing
        await eventually(
            lambda: _at_least(pg_dsn, tenant, STREAM), timeout_s=600, interval_s=2, what="settle"
        )
        events = await _assert_once_everywhere(
            dsn=pg_dsn,
            neo4j_uri=infra["TGI_NEO4J_URI"],
            bootstrap=private.bootstrap,
            prefix=prefix,
            tenant=tenant,
            expected=expected,
        )
        for name in ("memory", "dlq", "retrieval"):
            assert fleet.procs[name].poll() is None, f"{name} died with the broker"
        chaos_report["kafka_restart"] = {
            "posts": STREAM,
            "lifecycle_events": events,
            "broker_first_start_s": round(up_s, 1),
            "broker_down_s": round(back - killed, 1),
            "broker_restart_s": round(restart_s, 1),
            "broker_up_to_indexing_resumed_s": round(resumed - back, 1),
            "lost": 0,
            "doubled": 0,
        }
    finally:
        if fleet is not None:
            await fleet.close()
        private.close()


async def test_postgres_restarted_mid_stream(
    infra: dict[str, str], tmp_path: Path, chaos_report: dict[str, Any]
) -> None:
    private = PrivateInfra()
    fleet: Fleet | None = None
    try:
        await private.run("up", "postgres")
        dsn = private.postgres_dsn
        prefix, tenant = f"cp{uuid.uuid4().hex[:6]}.", f"cp{uuid.uuid4().hex[:8]}"
        env = fleet_env(
            bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
            pg_dsn=dsn,
            neo4j_uri=infra["TGI_NEO4J_URI"],
            prefix=prefix,
            state=tmp_path,
        )
        # posts that failed while Postgres was down come back through the DLQ's retries
        env["TGI_DLQ_RETRY_BASE_S"] = "3"
        fleet = Fleet(env=env, logs=tmp_path)
        await fleet.start_all(["memory", "dlq", "retrieval"])
        posts = _posts(12_000)
        expected = {p.natural_key(tenant) for p in posts}
        state = {"published": 0}
        async with Producer(infra["TGI_KAFKA_BOOTSTRAP"]) as producer:
            flowing = asyncio.create_task(_stream(producer, prefix, tenant, posts, state))
            await eventually(lambda: state["published"] >= STREAM // 4, timeout_s=300)
            before = await _indexed(dsn, tenant)
            killed = time.monotonic()
            # a fast shutdown (every connection cut, open transactions rolled back), not
            # SIGKILL: the dev server runs with synchronous_commit=off, where a crash loses
            # commits it already acknowledged (see docs/reliability.md)
            await private.run("down", "postgres")
            await asyncio.sleep(3)
            restart_s = await private.run("up", "postgres")
            back = time.monotonic()
            await eventually(
                lambda: _grew(dsn, tenant, before), timeout_s=300, what="indexing resumes"
            )
            resumed = time.monotonic()
            await flowing
        await eventually(
            lambda: _at_least(dsn, tenant, STREAM), timeout_s=600, interval_s=2, what="settle"
        )
        events = await _assert_once_everywhere(
            dsn=dsn,
            neo4j_uri=infra["TGI_NEO4J_URI"],
            bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
            prefix=prefix,
            tenant=tenant,
            expected=expected,
        )
        for name in ("memory", "dlq", "retrieval"):
            assert fleet.procs[name].poll() is None, f"{name} died with Postgres"
        chaos_report["postgres_restart"] = {
            "posts": STREAM,
            "lifecycle_events": events,
            "postgres_down_s": round(back - killed, 1),
            "postgres_restart_s": round(restart_s, 1),
            "postgres_up_to_indexing_resumed_s": round(resumed - back, 1),
            "lost": 0,
            "doubled": 0,
        }
    finally:
        if fleet is not None:
            await fleet.close()
        private.close()


async def test_neo4j_down_degrades_retrieval_and_recovers(
    infra: dict[str, str], pg_dsn: str, tmp_path: Path, chaos_report: dict[str, Any]
) -> None:
    private = PrivateInfra()
    fleet: Fleet | None = None
    bootstrap = infra["TGI_KAFKA_BOOTSTRAP"]
    try:
        await private.run("up", "neo4j")
        prefix, tenant = f"cn{uuid.uuid4().hex[:6]}.", f"cn{uuid.uuid4().hex[:8]}"
        env = fleet_env(
            bootstrap=bootstrap,
            pg_dsn=pg_dsn,
            neo4j_uri=private.neo4j_uri,
            prefix=prefix,
            state=tmp_path,
        )
        # the DLQ's retries (20, 40, 80 s) outlast the Neo4j restart
        env["TGI_DLQ_RETRY_BASE_S"] = "20"
        fleet = Fleet(env=env, logs=tmp_path)
        await fleet.start_all(["dlq", "retrieval"])
        posts = [p for p in itertools.islice(channel_posts(), 3000) if len(p.text) > 200][:60]
        first, later = posts[:40], posts[40:]
        expected = {p.natural_key(tenant) for p in posts}
        async with Producer(bootstrap) as producer:
            for post in first:
                await producer.send_post(prefix, tenant, post, producer="chaos@0", key=tenant)
            await eventually(
                lambda: _at_least(pg_dsn, tenant, len(first)), timeout_s=180, what="first indexed"
            )
            requester = ServiceKit(probe_settings(bootstrap, prefix, consumer_group="asker"))
            client = requester.rpc()
            asked = itertools.count()

            async def ask() -> Any:
                # a new question each time: an answer from the cache would say nothing
                n = next(asked)
                request = make_envelope(
                    RetrieveDocuments(
                        request_id=f"r{n}-{uuid.uuid4().hex[:6]}",
                        query=" ".join(first[n % len(first)].text.split()[:8]),
                        domain="digest",
                        top_k=5,
                        graph_depth=2,
                    ),
                    event_type="retrieval.requested",
                    schema_version=1,
                    producer="chaos@0",
                    tenant_id=tenant,
                )
                return (await client.request(request, timeout_s=30)).payload

            async with running(requester):
                # Healthy first: the first graph queries of a fresh Neo4j can outlast the
                # leg's 2 s deadline on a loaded machine, so ask until the graph leg runs.
                deadline = asyncio.get_running_loop().time() + 60
                healthy = await ask()
                while "graph" not in healthy.legs_run:
                    assert asyncio.get_running_loop().time() < deadline, healthy.degraded_legs
                    await asyncio.sleep(1)
                    healthy = await ask()
                assert healthy.documents
                assert not healthy.degraded_legs

                stopped = time.monotonic()
                await private.run("down", "neo4j")
                degraded = await ask()
                assert not degraded.cache_hit
                assert degraded.documents, "dense and sparse still answer"
                assert degraded.degraded_legs == ["graph"], degraded
                assert "graph" not in degraded.legs_run
                # posts that arrive while the graph is down wait in the DLQ, not lost
                for post in later:
                    await producer.send_post(prefix, tenant, post, producer="chaos@0", key=tenant)
                await asyncio.sleep(5)
                restart_s = await private.run("up", "neo4j")
                back = time.monotonic()

                async def whole() -> Any:
                    answer = await ask()
                    return answer if not answer.degraded_legs else None

                recovered = await eventually(whole, timeout_s=120, what="graph leg back")
                healed = time.monotonic()
                assert "graph" in recovered.legs_run

        async def all_in_graph() -> bool:
            return set(await _graph_posts(private.neo4j_uri, tenant)) == expected

        await eventually(all_in_graph, timeout_s=400, interval_s=3, what="every post in Neo4j")
        graphed = time.monotonic()
        conn = await asyncpg.connect(pg_dsn)
        try:
            rows = await conn.fetch(
                "SELECT post_id FROM retrieval.posts WHERE tenant_id = $1", tenant
            )
        finally:
            await conn.close()
        assert Counter(r["post_id"] for r in rows) == Counter(expected)
        assert await _graph_posts(private.neo4j_uri, tenant) == Counter(expected)
        chaos_report["neo4j_stop"] = {
            "posts": len(posts),
            "posts_while_down": len(later),
            "neo4j_down_s": round(back - stopped, 1),
            "neo4j_restart_s": round(restart_s, 1),
            "up_to_graph_leg_back_s": round(healed - back, 1),
            "up_to_every_post_in_graph_s": round(graphed - back, 1),
            "degraded_answer_said": ["graph"],
            "lost": 0,
            "doubled": 0,
        }
    finally:
        if fleet is not None:
            await fleet.close()
        private.close()


async def _grew(dsn: str, tenant: str, before: int) -> bool:
    return await _safe_indexed(dsn, tenant) > before


async def _at_least(dsn: str, tenant: str, n: int) -> bool:
    return await _safe_indexed(dsn, tenant) >= n
