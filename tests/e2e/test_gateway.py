"""The gateway end to end: six services as processes, real posts indexed by the retrieval
service, keys made by the key CLI as another process, questions over REST and over Kafka
(read by a plain aiokafka consumer and validated against the published schema)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jsonschema
import pytest

from contracts.envelope import make_envelope
from contracts.v1.posts import PostIngested
from contracts.v1.queries import AnswerQuery
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.helpers.gateway import create_key, index_posts, two_channels
from tests.helpers.kafka import produce, read_topic
from tests.helpers.kit import wire

pytestmark = pytest.mark.e2e
SCHEMA = json.loads((ROOT / "contracts/schemas/queries.answered.v1.json").read_text())
PROTECTED = [
    ("POST", "/v1/rag/query"),
    ("GET", "/v1/runs/x"),
    ("GET", "/v1/runs/x/manifest"),
    ("POST", "/v1/digests"),
    ("GET", "/v1/digests/x"),
    ("GET", "/v1/trends"),
]


@pytest.fixture(scope="module")
async def tenants(stack: Stack, bootstrap: str, pg_dsn: str) -> dict[str, Any]:
    """Two tenants with posts indexed by the running retrieval service, and a key each."""
    a, b = f"ga{uuid.uuid4().hex[:8]}", f"gb{uuid.uuid4().hex[:8]}"
    posts_a, posts_b = two_channels(30, 6)
    await index_posts(stack.prefix, bootstrap, a, posts_a)
    await index_posts(stack.prefix, bootstrap, b, posts_b)
    wanted = {p.natural_key(t) for t, ps in ((a, posts_a), (b, posts_b)) for p in ps}
    return {
        "a": a,
        "b": b,
        "posts_a": posts_a,
        "indexed": wanted,
        "key_a": create_key(pg_dsn, a, "alice"),
        "key_b": create_key(pg_dsn, b, "bob"),
    }


def _question(post: PostIngested) -> dict[str, str]:
    return {"text": " ".join(post.text.split()[:8])}


async def test_rest_question_gets_an_answer_citing_indexed_posts(
    stack: Stack, tenants: dict[str, Any]
) -> None:
    target = tenants["posts_a"][11]
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            stack.url("router", "/v1/rag/query"),
            json=_question(target),
            headers={"Authorization": f"Bearer {tenants['key_a']}"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "answered"
    cited = [s["post_id"] for s in body["sources"]]
    assert f"{tenants['a']}:{target.channel_id}:{target.message_id}" in cited, body
    assert set(cited) <= tenants["indexed"]
    for source in body["sources"]:
        assert f"[{source['n']}]" in body["answer"]
        assert source["permalink"].startswith("https://t.me/")
    assert "retrieval;dur=" in r.headers["Server-Timing"]


async def test_kafka_question_is_answered_on_queries_answered(
    stack: Stack, bootstrap: str, tenants: dict[str, Any]
) -> None:
    request = make_envelope(
        AnswerQuery(query_id="e2e-q", user_id="team-x", **_question(tenants["posts_a"][9])),
        event_type="queries.requested",
        schema_version=1,
        producer="other-team@1.0",
        tenant_id=tenants["a"],
    )
    value, headers = wire(request)
    await produce(bootstrap, stack.prefix + "queries.requested.v1", value, headers=headers)

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        docs = [json.loads(r.value) for r in records]
        return [d for d in docs if d["causation_id"] == request.event_id]

    records = await read_topic(
        bootstrap,
        stack.prefix + "queries.answered.v1",
        until=lambda rs: bool(mine(rs)),
        timeout_s=60,
    )
    (answer,) = {d["event_id"]: d for d in mine(records)}.values()
    jsonschema.validate(answer, SCHEMA)
    payload = answer["payload"]
    assert answer["tenant_id"] == tenants["a"]
    assert payload["query_id"] == "e2e-q"
    assert payload["status"] == "answered"
    cited = {c["post_id"] for c in payload["citations"]}
    assert cited
    assert cited <= tenants["indexed"]
    assert all(c.startswith(tenants["a"] + ":") for c in cited)


async def test_unauthenticated_and_cross_tenant_requests_are_refused(
    stack: Stack, tenants: dict[str, Any]
) -> None:
    question = _question(tenants["posts_a"][11])
    async with httpx.AsyncClient(timeout=30) as http:
        for method, path in PROTECTED:
            r = await http.request(method, stack.url("router", path), json={})
            assert r.status_code == 401, (path, r.text)
        for path in ("/health", "/ready", "/metrics"):
            assert (await http.get(stack.url("router", path))).status_code == 200
        as_b = {"X-API-Key": tenants["key_b"]}
        other = await http.post(stack.url("router", "/v1/rag/query"), json=question, headers=as_b)
        assert other.status_code == 200
        assert all(s["post_id"].startswith(tenants["b"] + ":") for s in other.json()["sources"])
        spoof = await http.post(
            stack.url("router", "/v1/rag/query"),
            json={**question, "tenant_id": tenants["a"]},
            headers=as_b,
        )
        assert spoof.status_code == 422
        mine = await http.post(
            stack.url("router", "/v1/rag/query"),
            json=question,
            headers={"X-API-Key": tenants["key_a"]},
        )
        run = stack.url("router", f"/v1/runs/{mine.json()['run_id']}")
        assert (await http.get(run, headers=as_b)).status_code == 404
        assert (await http.get(run, headers={"X-API-Key": tenants["key_a"]})).status_code == 200


async def test_budget_exceeded_degrades_and_is_counted(
    stack: Stack, tenants: dict[str, Any]
) -> None:
    metric = (
        'request_budget_exceeded_total{budget_type="agent_steps",'
        'endpoint="/v1/rag/query",path_type="fast_path"}'
    )

    def count(text: str) -> float:
        line = next(ln for ln in text.splitlines() if ln.startswith(metric))
        return float(line.rsplit(" ", 1)[1])

    async with httpx.AsyncClient(timeout=30) as http:
        before = count((await http.get(stack.url("router", "/metrics"))).text)
        r = await http.post(
            stack.url("router", "/v1/rag/query"),
            json={**_question(tenants["posts_a"][2]), "budget": {"max_agent_steps": 2}},
            headers={"X-API-Key": tenants["key_a"]},
        )
        after = count((await http.get(stack.url("router", "/metrics"))).text)
    assert r.status_code == 200
    assert "budget" in r.json()["degraded"]
    assert r.json()["sources"]
    assert after == before + 1


async def test_trends_answer_or_say_why_within_the_deadline(
    stack: Stack, tenants: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        started = time.monotonic()
        r = await http.get(
            stack.url("router", "/v1/trends"), headers={"X-API-Key": tenants["key_a"]}
        )
        took = time.monotonic() - started
    assert took < 6.0  # the trend deadline (3 s) plus slack: never hangs
    assert r.status_code in (200, 504), r.text
    if r.status_code == 200:
        assert all(t["request_id"] for t in r.json()["trends"])
    else:
        assert "trend service" in r.json()["detail"]
