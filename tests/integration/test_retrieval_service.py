"""The retrieval service on real Kafka, Postgres, Neo4j and Qdrant Edge: posts in, indexed,
searchable over request/reply, isolated per tenant, deletable."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import make_envelope
from contracts.v1.posts import PostIngested, PostsDeleted
from contracts.v1.retrieval import RetrieveDocuments
from servicekit.app import ServiceKit
from servicekit.settings import load_settings
from services.retrieval.app import build_app
from services.retrieval.settings import RetrievalSettings
from tests.helpers.kafka import produce, read_topic
from tests.helpers.kit import probe_settings, running, wire

pytestmark = pytest.mark.integration
DAY = datetime(2024, 12, 3, 12, tzinfo=UTC)
TEXTS = [
    ("-1001000724666", 1, "В Китае нашли ударный кратер необычной формы"),
    ("-1001000724666", 2, "Сбербанк повысил ставки по вкладам для клиентов"),
    ("-1001101170442", 3, "Герман Греф рассказал о ставках Сбербанка по вкладам"),
    ("-1001101170442", 4, "Учёные открыли новую экзопланету у соседней звезды"),
]


def _post_env(tenant: str, channel: str, msg: int, text: str) -> Any:
    payload = PostIngested(
        channel_id=channel, chat_kind="channel", message_id=msg, date=DAY, text=text, source="api"
    )
    return make_envelope(
        payload, event_type="posts.ingested", schema_version=1, producer="tests@0", tenant_id=tenant
    )


def _request(tenant: str, query: str, requester: ServiceKit) -> Any:
    return requester.publisher.envelope(
        RetrieveDocuments(request_id=uuid.uuid4().hex, query=query, domain="qa", top_k=3),
        topic="retrieval.requested.v1",
        tenant_id=tenant,
    )


async def test_index_search_isolate_delete(
    bootstrap: str, prefix: str, pg_dsn: str, infra: dict[str, str], tmp_path: Path
) -> None:
    settings = load_settings(
        RetrievalSettings,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        postgres_dsn=pg_dsn,
        neo4j_uri=infra["TGI_NEO4J_URI"],
        qdrant_edge_path=str(tmp_path / "qdrant"),
        startup_timeout_s=60,
    )
    app = build_app(settings)
    requester = ServiceKit(probe_settings(bootstrap, prefix, consumer_group="asker"))
    rpc = requester.rpc()
    tenant, other = f"a{uuid.uuid4().hex[:8]}", f"b{uuid.uuid4().hex[:8]}"
    async with running(app.kit), running(requester):
        for channel, msg, text in TEXTS:
            value, headers = wire(_post_env(tenant, channel, msg, text))
            await produce(bootstrap, prefix + "posts.ingested.v1", value, headers=headers)
        value, headers = wire(_post_env(other, "-1009", 1, "Сбербанк и вклады: чужой пост"))
        await produce(bootstrap, prefix + "posts.ingested.v1", value, headers=headers)
        indexed = await read_topic(
            bootstrap, prefix + "posts.indexed.v1", until=lambda rs: len(rs) >= 5, timeout_s=90
        )
        assert {json.loads(r.value)["payload"]["post_id"] for r in indexed} >= {
            f"{tenant}:{c}:{m}" for c, m, _ in TEXTS
        }

        reply = await rpc.request(
            _request(tenant, "ставки Сбербанка по вкладам", requester), timeout_s=20
        )
        docs = reply.payload.documents
        assert docs[0].post_id in {f"{tenant}:-1001000724666:2", f"{tenant}:-1001101170442:3"}
        assert all(d.post_id.startswith(tenant + ":") for d in docs)
        assert set(reply.payload.legs_run) >= {"dense", "sparse"}
        assert reply.payload.degraded_legs == []

        foreign = await rpc.request(
            _request(other, "кратер необычной формы", requester), timeout_s=20
        )
        assert all(d.post_id.startswith(other + ":") for d in foreign.payload.documents)

        deleted = make_envelope(
            PostsDeleted(channel_id="-1001000724666", message_ids=[1], deleted_at=DAY),
            event_type="posts.deleted",
            schema_version=1,
            producer="tests@0",
            tenant_id=tenant,
        )
        value, headers = wire(deleted)
        await produce(bootstrap, prefix + "posts.deleted.v1", value, headers=headers)
        # The delete is consumed asynchronously: ask until it took effect (30 s at most).
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            again = await rpc.request(
                _request(tenant, "кратер необычной формы", requester), timeout_s=20
            )
            if f"{tenant}:-1001000724666:1" not in [d.post_id for d in again.payload.documents]:
                break
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail("deleted post still returned")
            await asyncio.sleep(0.2)
