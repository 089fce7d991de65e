"""SIGKILL every service while a stream of 10 000 real posts, 200 Kafka queries and 40
digest requests flows.

One stream, six services as processes; retrieval, router, trend, memory, dlq and digest are
each killed (the whole process group, workers included) at a point of the stream and restarted.
Afterwards every post is in every store exactly once (Postgres rows, Qdrant points, Neo4j Post
nodes, the trend service's inbox or story members), every query and every digest request has
exactly one answer (one event id, however often it was re-sent) and one stored digest, every
lifecycle event on the bus is stored once in episodic memory, and every poison message of the
stream is parked once in the DLQ.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import neo4j
import pytest

from contracts.envelope import Envelope, make_envelope
from contracts.v1.digest import GenerateDigest
from contracts.v1.posts import PostIngested
from contracts.v1.queries import AnswerQuery
from services.retrieval.adapters.qdrant_edge_store import QdrantEdgeStore
from services.retrieval.domain.model import SearchFilters
from tests.helpers.chaos import Fleet, Producer, eventually, fleet_env, ingested, read_all
from tools.dataset import channel_posts

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1200)]

POSTS = int(os.environ.get("TGI_CHAOS_POSTS", "10000"))
QUERY_EVERY = 50  # one Kafka query per 50 posts: 200 queries for 10 000 posts
DIGEST_EVERY = 250  # one 1-day channel digest request per 250 posts: 40 for 10 000 posts
DIGEST_LAG = 100
POISON_EVERY = 1000  # one undecodable record per 1000 posts: the DLQ has work when killed
RATE_PER_S = float(os.environ.get("TGI_CHAOS_RATE", "60"))
# (service, fraction of the stream published when it is killed)
FAULTS = (
    ("retrieval", 0.12),
    ("router", 0.27),
    ("trend", 0.42),
    ("memory", 0.57),
    ("dlq", 0.72),
    ("digest", 0.87),
)
SETTLE_S = 900.0


class Stream:
    """Publishes posts at a steady rate, with queries and poison interleaved."""

    def __init__(self, producer: Producer, prefix: str, tenant: str) -> None:
        self.producer = producer
        self.prefix = prefix
        self.tenant = tenant
        self.published = 0
        self.poison = 0
        self.queries: list[str] = []
        self.digests: list[str] = []
        self.posts: list[Envelope[Any]] = []

    async def run(self, posts: list[PostIngested]) -> None:
        chunk = 15
        started = time.monotonic()
        for start in range(0, len(posts), chunk):
            sends: list[Awaitable[object]] = []
            for i, post in enumerate(posts[start : start + chunk], start=start):
                env = ingested(post, self.tenant, "chaos@0")
                self.posts.append(env)
                sends.append(
                    self.producer.send_envelope(
                        self.prefix + "posts.ingested.v1",
                        env,
                        key=f"{self.tenant}:{post.channel_id}",
                    )
                )
                if i % QUERY_EVERY == QUERY_EVERY - 1:
                    sends.append(self._query(post, len(self.queries)))
                if i % DIGEST_EVERY == DIGEST_EVERY - 1:
                    # a post published DIGEST_LAG posts ago: indexed by now
                    sends.append(self._digest(posts[i - DIGEST_LAG], len(self.digests)))
                if i % POISON_EVERY == POISON_EVERY // 2:
                    sends.append(self.send_poison())
            await asyncio.gather(*sends)
            self.published = min(len(posts), start + chunk)
            ahead = started + self.published / RATE_PER_S - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def send_poison(self) -> None:
        """One truncated JSON record among the posts: the retrieval service dead-letters it."""
        self.poison += 1
        await self.producer.send_raw(
            self.prefix + "posts.ingested.v1",
            b'{"event_type": "posts.ingested", "schema_version": 1, "payload": ',
            key=f"{self.tenant}:poison".encode(),
        )

    async def _query(self, post: PostIngested, n: int) -> None:
        query_id = f"cq{n}"
        self.queries.append(query_id)
        env = make_envelope(
            AnswerQuery(
                query_id=query_id, user_id=f"u{n % 5}", text=" ".join(post.text.split()[:8]) or "?"
            ),
            event_type="queries.requested",
            schema_version=1,
            producer="other-team@1",
            tenant_id=self.tenant,
        )
        await self.producer.send_envelope(
            self.prefix + "queries.requested.v1", env, key=f"{self.tenant}:u{n % 5}"
        )

    async def _digest(self, post: PostIngested, n: int) -> None:
        """A 1-day digest of the post's channel from the post on: the dataset lists each
        channel newest first, so the post and the day after it are already published."""
        run_id = f"cd{n}"
        self.digests.append(run_id)
        env = make_envelope(
            GenerateDigest(
                run_id=run_id,
                user_id=f"u{n % 5}",
                kind="channel",
                channels=[post.channel_id],
                period_days=1,
                until=post.date + timedelta(days=1),
                mode="fast" if n % 2 else "smart",
            ),
            event_type="digest.requested",
            schema_version=1,
            producer="other-team@1",
            tenant_id=self.tenant,
            correlation_id=run_id,
        )
        await self.producer.send_envelope(
            self.prefix + "digest.requested.v1", env, key=f"{self.tenant}:{run_id}"
        )


async def _count(pool: asyncpg.Pool, sql: str, *args: Any) -> int:
    return int(await pool.fetchval(sql, *args))


def _progress(pool: asyncpg.Pool, tenant: str) -> dict[str, Callable[[], Awaitable[int]]]:
    """Per service, a number that grows while it does its work on this stream."""
    return {
        "retrieval": lambda: _count(
            pool, "SELECT count(*) FROM retrieval.posts WHERE tenant_id = $1", tenant
        ),
        "router": lambda: _count(
            pool, "SELECT count(*) FROM router.runs WHERE tenant_id = $1", tenant
        ),
        "trend": lambda: _count(
            pool,
            "SELECT (SELECT count(*) FROM trend.story_posts WHERE tenant_id = $1)"
            " + (SELECT count(*) FROM trend.inbox WHERE tenant_id = $1)",
            tenant,
        ),
        "memory": lambda: _count(pool, "SELECT count(*) FROM memory.episodes"),
        "dlq": lambda: _count(pool, "SELECT count(*) FROM dlq.dlq_events"),
        "digest": lambda: _count(
            pool, "SELECT count(*) FROM digest.digests WHERE tenant_id = $1", tenant
        ),
    }


async def test_sigkill_of_every_service_mid_stream_loses_and_doubles_nothing(
    infra: dict[str, str], pg_dsn: str, tmp_path: Path, chaos_report: dict[str, Any]
) -> None:
    prefix = f"chaos{uuid.uuid4().hex[:8]}."
    tenant = f"ch{uuid.uuid4().hex[:8]}"
    fleet = Fleet(
        env=fleet_env(
            bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
            pg_dsn=pg_dsn,
            neo4j_uri=infra["TGI_NEO4J_URI"],
            prefix=prefix,
            state=tmp_path,
        ),
        logs=tmp_path,
    )
    posts = list(itertools.islice(channel_posts(), POSTS))
    assert len(posts) == POSTS
    expected = {p.natural_key(tenant) for p in posts}
    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=3)
    faults: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        await fleet.start_all()
        progress = _progress(pool, tenant)
        async with Producer(infra["TGI_KAFKA_BOOTSTRAP"]) as producer:
            stream = Stream(producer, prefix, tenant)
            flowing = asyncio.create_task(stream.run(posts))
            for service, share in FAULTS:
                await eventually(
                    lambda s=share: stream.published >= s * POSTS or flowing.done(),
                    timeout_s=600,
                    interval_s=0.2,
                    what=f"stream reaches {share:.0%}",
                )
                if flowing.done():
                    flowing.result()  # the stream's own error, if it failed
                    pytest.fail(f"the stream ended before {service} was killed: {faults}")
                before = await progress[service]()
                at = stream.published
                killed = time.monotonic()
                fleet.kill(service)
                await stream.send_poison()  # work for the dlq while it is down
                fleet.start(service)
                ready_s = await fleet.wait_ready(service)
                await eventually(
                    lambda s=service, b=before: _grew(progress[s], b),
                    timeout_s=300,
                    interval_s=0.2,
                    what=f"{service} makes progress after its restart",
                )
                faults.append(
                    fault := {
                        "service": service,
                        "killed_at_published": at,
                        "progress_at_kill": before,
                        "restart_to_ready_s": round(ready_s, 1),
                        "kill_to_progress_s": round(time.monotonic() - killed, 1),
                    }
                )
                print("fault", fault, flush=True)
            await flowing
        published_s = time.monotonic() - started

        answered: dict[str, set[str]] = {}
        digested: dict[str, set[str]] = {}

        async def settled() -> bool:
            if await progress["retrieval"]() < POSTS or await progress["trend"]() < POSTS:
                return False
            bootstrap = infra["TGI_KAFKA_BOOTSTRAP"]
            answered.clear()
            for doc in await read_all(bootstrap, prefix + "queries.answered.v1"):
                answered.setdefault(doc["payload"]["query_id"], set()).add(doc["event_id"])
            digested.clear()
            for doc in await read_all(bootstrap, prefix + "digest.completed.v1"):
                digested.setdefault(doc["payload"]["run_id"], set()).add(doc["event_id"])
            return set(stream.queries) <= set(answered) and set(stream.digests) <= set(digested)

        await eventually(settled, timeout_s=SETTLE_S, interval_s=3, what="stream settles")
        settle_s = time.monotonic() - started - published_s

        # Postgres: one row per post
        rows = await pool.fetch("SELECT post_id FROM retrieval.posts WHERE tenant_id = $1", tenant)
        assert Counter(r["post_id"] for r in rows) == Counter(expected)

        # Neo4j: one Post node per post
        driver = neo4j.AsyncGraphDatabase.driver(infra["TGI_NEO4J_URI"])
        try:
            records, _, _ = await driver.execute_query(
                "MATCH (p:Post {tenant_id: $t}) WHERE p.stub = false RETURN p.post_id AS id",
                t=tenant,
            )
        finally:
            await driver.close()
        assert Counter(r["id"] for r in records) == Counter(expected)

        # trend: every announced post held once, in the inbox or as a story member
        held = await pool.fetch(
            "SELECT post_id FROM trend.story_posts WHERE tenant_id = $1"
            " UNION ALL SELECT post_id FROM trend.inbox WHERE tenant_id = $1",
            tenant,
        )
        assert Counter(r["post_id"] for r in held) == Counter(expected)

        # router: every query answered, each with exactly one answer event id
        assert set(answered) == set(stream.queries)
        doubled = {q: ids for q, ids in answered.items() if len(ids) != 1}
        assert not doubled, doubled

        # digest: every request answered with one event id, one run and one digest stored —
        # the stream's requests and those the router made for queries it routed to a digest
        runs = await pool.fetch(
            "SELECT r.run_id, r.status FROM digest.runs r"
            " JOIN digest.digests d USING (tenant_id, run_id) WHERE r.tenant_id = $1",
            tenant,
        )
        assert set(stream.digests) <= set(digested)
        assert Counter(r["run_id"] for r in runs) == Counter(set(digested))
        doubled = {r: ids for r, ids in digested.items() if len(ids) != 1}
        assert not doubled, doubled
        assert {r["status"] for r in runs} <= {"completed", "quality_low", "failed"}
        # the stream's digests had posts to digest: most ran every step and were delivered
        ours = Counter(r["status"] for r in runs if r["run_id"] in set(stream.digests))
        assert ours["completed"] + ours["quality_low"] >= len(stream.digests) // 2, ours

        # dlq: every poison record parked once (the dead letters of this tenant's stream)
        await eventually(
            lambda: _grew(progress["dlq"], stream.poison - 1),
            timeout_s=120,
            what="every poison record stored by the dlq",
        )
        parked = await pool.fetch(
            "SELECT original_topic, original_partition, original_offset, status"
            " FROM dlq.dlq_events WHERE original_topic = $1",
            prefix + "posts.ingested.v1",
        )
        assert len(parked) == stream.poison
        assert {r["status"] for r in parked} == {"parked"}

        # memory: every lifecycle event on the bus stored, each once
        lifecycle = await read_all(infra["TGI_KAFKA_BOOTSTRAP"], prefix + "lifecycle.v1")
        on_bus = {doc["event_id"] for doc in lifecycle}

        async def stored_all() -> bool:
            ids = await pool.fetch("SELECT event_id::text AS id FROM memory.episodes")
            return on_bus <= {r["id"] for r in ids}

        await eventually(stored_all, timeout_s=120, what="memory stores every lifecycle event")
        dup = await pool.fetch(
            "SELECT event_id, count(*) FROM memory.episodes GROUP BY event_id HAVING count(*) > 1"
        )
        assert not dup

        # Qdrant (the retrieval service's in-process shard): one point per post
        fleet.stop("retrieval")
        store = QdrantEdgeStore(tmp_path / "qdrant-edge", model_name=_embedder().model_name)
        await store.ensure_collection(_embedder().dim)
        try:
            ids = sorted(expected)
            found: list[str] = []
            for i in range(0, len(ids), 1000):
                hits = await store.fetch(SearchFilters(tenant_id=tenant), ids[i : i + 1000])
                found.extend(h.post_id for h in hits)
            points = await store._run(lambda: store._require().info().points_count)
        finally:
            await store.close()
        assert Counter(found) == Counter(expected)
        assert points == POSTS

        chaos_report["process_faults"] = {
            "posts": POSTS,
            "queries": len(stream.queries),
            "digest_requests": len(stream.digests),
            "digests_from_routed_queries": len(set(digested) - set(stream.digests)),
            "poison_records": stream.poison,
            "lifecycle_events": len(on_bus),
            "faults": faults,
            "publish_s": round(published_s, 1),
            "settle_after_stream_s": round(settle_s, 1),
            "digest_statuses": dict(ours),
            "lost": {
                "posts": 0,
                "queries": 0,
                "digests": 0,
                "lifecycle_events": 0,
                "dead_letters": 0,
            },
            "doubled": {
                "posts": 0,
                "answers": 0,
                "digests": 0,
                "episodes": 0,
                "dead_letters": 0,
            },
        }
    finally:
        await pool.close()
        await fleet.close()


async def _grew(measure: Callable[[], Awaitable[int]], before: int) -> bool:
    return await measure() > before


def _embedder() -> Any:
    from services.retrieval.adapters.embedders.factory import build_embedder

    return build_embedder("offline")
