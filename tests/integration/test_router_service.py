"""The router on real Kafka and Postgres with the real retrieval service (real Postgres,
Neo4j and Qdrant Edge): real posts in, a cited answer out over REST and over Kafka, every
citation a post the retrieval service indexed for the caller's tenant; keys from the CLI;
unauthenticated and cross-tenant requests refused; an LLM provider that never answers gives
the fallback route and an extractive answer within the deadline; a budget too small for the
answer's LLM call gives a degraded answer and counts it."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
import pytest

from contracts.envelope import Envelope, make_envelope
from contracts.v1.posts import PostIngested
from contracts.v1.queries import AnswerQuery
from contracts.v1.trend import ReportTrends, TrendDetected
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from servicekit.settings import load_settings
from services.retrieval.app import build_app as build_retrieval
from services.retrieval.settings import RetrievalSettings
from services.router import keys as keys_cli
from services.router.app import build_app as build_router
from services.router.settings import RouterSettings
from tests.conftest import ROOT, new_prefix
from tests.helpers.gateway import two_channels
from tests.helpers.kafka import produce, read_topic
from tests.helpers.kit import probe_settings, running, wire
from tools.scratch import scratch_database

pytestmark = pytest.mark.integration
SCHEMA = json.loads((ROOT / "contracts/schemas/queries.answered.v1.json").read_text())


def _post_env(tenant: str, post: PostIngested) -> Any:
    return make_envelope(
        post, event_type="posts.ingested", schema_version=1, producer="tests@0", tenant_id=tenant
    )


def _question(post: PostIngested) -> str:
    return " ".join(post.text.split()[:8])


async def _key(dsn: str, tenant: str, user: str) -> str:
    out = io.StringIO()
    assert (
        await keys_cli.amain(["--dsn", dsn, "create", "--tenant", tenant, "--user", user], out=out)
        == 0
    )
    return out.getvalue().strip()


@dataclass(frozen=True)
class Indexed:
    """The retrieval service running on this module's topics, with both tenants' posts."""

    prefix: str
    dsn: str
    tenant_a: str
    tenant_b: str
    posts_a: list[PostIngested]
    indexed_ids: set[str]


@pytest.fixture(scope="module")
async def indexed(
    infra: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Indexed]:
    bootstrap = infra["TGI_KAFKA_BOOTSTRAP"]
    prefix = new_prefix()
    tenant_a, tenant_b = f"a{uuid.uuid4().hex[:8]}", f"b{uuid.uuid4().hex[:8]}"
    posts_a, posts_b = two_channels(30, 6)  # tenant A: one channel, B: another
    async with scratch_database(infra["TGI_POSTGRES_DSN"], "routersvc") as dsn:
        retrieval = build_retrieval(
            load_settings(
                RetrievalSettings,
                kafka_bootstrap=bootstrap,
                topic_prefix=prefix,
                postgres_dsn=dsn,
                neo4j_uri=infra["TGI_NEO4J_URI"],
                qdrant_edge_path=str(tmp_path_factory.mktemp("qdrant")),
                log_level="WARNING",
            )
        )
        async with running(retrieval.kit):
            for tenant, posts in ((tenant_a, posts_a), (tenant_b, posts_b)):
                for post in posts:
                    value, headers = wire(_post_env(tenant, post))
                    await produce(bootstrap, prefix + "posts.ingested.v1", value, headers=headers)
            total = len(posts_a) + len(posts_b)
            records = await read_topic(
                bootstrap,
                prefix + "posts.indexed.v1",
                until=lambda rs: len(rs) >= total,
                timeout_s=120,
            )
            ids = {json.loads(r.value)["payload"]["post_id"] for r in records}
            yield Indexed(prefix, dsn, tenant_a, tenant_b, posts_a, ids)


def _router(bootstrap: str, indexed: Indexed, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "topic_prefix": indexed.prefix,
        "postgres_dsn": indexed.dsn,
        "memory_url": None,
        "key_cache_ttl_s": 0,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return build_router(load_settings(RouterSettings, **values))


async def test_rest_and_kafka_answers_cite_indexed_posts_of_the_callers_tenant(
    bootstrap: str, indexed: Indexed
) -> None:
    tenant_a, tenant_b = indexed.tenant_a, indexed.tenant_b
    indexed_ids = indexed.indexed_ids
    router = _router(bootstrap, indexed)
    transport = httpx.ASGITransport(app=router.http)
    async with (
        running(router.kit),
        httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=30) as http,
    ):
        key_a = await _key(indexed.dsn, tenant_a, "alice")
        key_b = await _key(indexed.dsn, tenant_b, "bob")

        target = indexed.posts_a[7]
        question = {"text": _question(target)}
        r = await http.post(
            "/v1/rag/query", json=question, headers={"Authorization": f"Bearer {key_a}"}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "answered"
        assert body["route"] == "qa"
        cited = [s["post_id"] for s in body["sources"]]
        assert cited
        assert set(cited) <= indexed_ids
        assert all(c.startswith(f"{tenant_a}:") for c in cited)
        target_id = f"{tenant_a}:{target.channel_id}:{target.message_id}"
        assert target_id in cited  # the post the question was taken from
        for source in body["sources"]:
            assert f"[{source['n']}]" in body["answer"]
            assert source["permalink"].startswith("https://t.me/")
        assert "retrieval" in r.headers["Server-Timing"]

        # Tenant B asks the same: it sees only its own posts, never A's.
        other = await http.post("/v1/rag/query", json=question, headers={"X-API-Key": key_b})
        assert other.status_code == 200
        assert all(s["post_id"].startswith(f"{tenant_b}:") for s in other.json()["sources"])

        assert (await http.post("/v1/rag/query", json=question)).status_code == 401
        forged = await http.post(
            "/v1/rag/query",
            json={**question, "tenant_id": tenant_a},
            headers={"X-API-Key": key_b},
        )
        assert forged.status_code == 422

        run = await http.get(f"/v1/runs/{body['run_id']}", headers={"X-API-Key": key_a})
        assert run.json()["status"] == "completed"
        hidden = await http.get(f"/v1/runs/{body['run_id']}", headers={"X-API-Key": key_b})
        assert hidden.status_code == 404

        # The same question from another team over Kafka.
        request = make_envelope(
            AnswerQuery(query_id="kq-1", user_id="team-x", text=question["text"]),
            event_type="queries.requested",
            schema_version=1,
            producer="other-team@1.0",
            tenant_id=tenant_a,
        )
        value, headers = wire(request)
        await produce(bootstrap, indexed.prefix + "queries.requested.v1", value, headers=headers)

        def answered(records: list[Any]) -> bool:
            return any(json.loads(r.value)["causation_id"] == request.event_id for r in records)

        records = await read_topic(
            bootstrap, indexed.prefix + "queries.answered.v1", until=answered, timeout_s=60
        )
        (doc,) = [
            json.loads(r.value)
            for r in records
            if json.loads(r.value)["causation_id"] == request.event_id
        ]
        jsonschema.validate(doc, SCHEMA)
        assert doc["tenant_id"] == tenant_a
        assert doc["payload"]["query_id"] == "kq-1"
        assert doc["payload"]["status"] == "answered"
        kafka_cited = {c["post_id"] for c in doc["payload"]["citations"]}
        assert kafka_cited
        assert kafka_cited <= indexed_ids
        assert all(c.startswith(f"{tenant_a}:") for c in kafka_cited)

        # Revoking a key takes effect (cache TTL 0 here).
        key_id = key_a.split("_")[1]
        assert (
            await keys_cli.amain(["--dsn", indexed.dsn, "revoke", key_id], out=io.StringIO()) == 0
        )
        revoked = await http.post("/v1/rag/query", json=question, headers={"X-API-Key": key_a})
        assert revoked.status_code == 403
        listing = io.StringIO()
        assert (
            await keys_cli.amain(["--dsn", indexed.dsn, "list", "--tenant", tenant_a], out=listing)
            == 0
        )
        assert key_id in listing.getvalue()
        assert key_a not in listing.getvalue()


@pytest.fixture
async def silent_llm() -> AsyncIterator[str]:
    """An OpenAI-compatible address that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_a_silent_llm_gives_the_fallback_route_and_an_answer_within_the_deadline(
    bootstrap: str, indexed: Indexed, silent_llm: str
) -> None:
    router = _router(
        bootstrap,
        indexed,
        llm_provider="openai",
        llm_openai_base_url=silent_llm,
        llm_retries=0,
        answer_timeout_s=1.0,
        request_deadline_s=3.0,
    )
    key = await _key(indexed.dsn, indexed.tenant_a, "carol")
    transport = httpx.ASGITransport(app=router.http)
    registry = router.kit.metrics.registry
    async with (
        running(router.kit),
        httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=30) as http,
    ):
        question = {"text": _question(indexed.posts_a[3])}
        started = time.monotonic()
        r = await http.post("/v1/rag/query", json=question, headers={"X-API-Key": key})
        took = time.monotonic() - started
        body = r.json()
        assert r.status_code == 200, r.text
        assert took < 3.0
        assert body["route"] == "qa"
        assert body["route_stage"] in ("fallback", "heuristic", "semantic")
        assert body["mode"] == "extractive"
        assert "llm" in body["degraded"]
        assert body["sources"]
        assert all(s["post_id"] in indexed.indexed_ids for s in body["sources"])
        timeouts = registry.get_sample_value(
            "llm_requests_total", {"provider": "openai", "outcome": "timeout"}
        )
        assert timeouts is not None
        assert timeouts >= 1

        small = await http.post(
            "/v1/rag/query",
            json={**question, "budget": {"max_tokens": 200}},
            headers={"X-API-Key": key},
        )
        assert small.status_code == 200
        assert small.json()["mode"] == "extractive"
        assert "budget" in small.json()["degraded"]
        exceeded = registry.get_sample_value(
            "request_budget_exceeded_total",
            {"budget_type": "tokens", "path_type": "fast_path", "endpoint": "/v1/rag/query"},
        )
        assert exceeded == 1


async def test_trends_gather_every_reply_of_the_trend_service_over_kafka(
    bootstrap: str, indexed: Indexed
) -> None:
    """A stand-in trend service replies to ``ReportTrends`` like the real one (one
    ``TrendDetected`` per trend, to the reply topic); the gateway returns them all."""
    responder = ServiceKit(
        probe_settings(bootstrap, indexed.prefix, consumer_group=f"trend-{uuid.uuid4().hex[:6]}")
    )

    async def reply(envelope: Envelope[Any], ctx: MessageContext) -> None:
        request: ReportTrends = envelope.payload
        if envelope.tenant_id != indexed.tenant_a or not ctx.reply_to:
            return  # this tenant has no trends: the real service then sends nothing
        for n in (1, 2):
            trend = TrendDetected(
                trend_id=f"t{n}",
                kind="emerging",
                headline=f"Тренд {n}",
                why_now="чаще обычного",
                representative_posts=[],
                channels=["-1001000724666"],
                burst_score=3.0,
                first_seen_at=envelope.occurred_at,
                window_start=envelope.occurred_at,
                window_end=envelope.occurred_at,
                post_count=5,
                request_id=request.request_id,
            )
            out = responder.publisher.envelope(
                trend, topic="trend.detected.v1", tenant_id=envelope.tenant_id, causation=envelope
            )
            await responder.publisher.publish(out, physical_topic=ctx.reply_to)

    responder.consume("trend.requested.v1", reply)
    router = _router(bootstrap, indexed, trend_timeout_s=2.0)
    key_a = await _key(indexed.dsn, indexed.tenant_a, "dora")
    key_b = await _key(indexed.dsn, indexed.tenant_b, "erin")
    transport = httpx.ASGITransport(app=router.http)
    async with (
        running(responder),
        running(router.kit),
        httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=30) as http,
    ):
        r = await http.get("/v1/trends", params={"limit": 5}, headers={"X-API-Key": key_a})
        assert r.status_code == 200, r.text
        assert [t["headline"] for t in r.json()["trends"]] == ["Тренд 1", "Тренд 2"]
        started = time.monotonic()
        none = await http.get("/v1/trends", headers={"X-API-Key": key_b})
        assert none.status_code == 504
        assert "no current trends" in none.json()["detail"]
        assert time.monotonic() - started < 4.0
