"""All six services as processes: each consumes its topics on the real broker, reports health,
and what they publish is readable by another team's plain consumer and valid by our schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest
from pydantic import BaseModel

from contracts.envelope import make_envelope
from contracts.v1.digest import GenerateDigest
from contracts.v1.queries import AnswerQuery
from contracts.v1.retrieval import RetrieveDocuments
from contracts.v1.trend import ReportTrends
from tests.conftest import ROOT
from tests.e2e.conftest import SERVICES, Stack
from tests.helpers.kafka import produce, read_topic
from tests.helpers.kit import post_envelope, wire

pytestmark = pytest.mark.e2e
SCHEMAS = ROOT / "contracts" / "schemas"


def _schema(topic: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / f"{topic}.json").read_text()))


async def test_every_service_is_healthy_ready_and_measured(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for name in SERVICES:
            assert (await client.get(stack.url(name, "/health"))).status_code == 200
            ready = await client.get(stack.url(name, "/ready"))
            assert ready.status_code == 200, (name, ready.text)
            metrics = (await client.get(stack.url(name, "/metrics"))).text
            assert "tgi_ready 1.0" in metrics, name


def _envelopes() -> list[tuple[str, str, BaseModel]]:
    now = datetime(2024, 12, 4, 12, tzinfo=UTC)
    return [
        (
            "queries.requested.v1",
            "router",
            AnswerQuery(query_id="q1", user_id="u1", text="Что нового у Naked Science?"),
        ),
        (
            "retrieval.requested.v1",
            "retrieval",
            RetrieveDocuments(request_id="r1", query="кратер", domain="qa", top_k=5),
        ),
        (
            "digest.requested.v1",
            "digest",
            GenerateDigest(
                run_id="d1",
                user_id="u1",
                kind="channel",
                channels=["naked_science"],
                period_days=1,
                until=now,
                mode="fast",
            ),
        ),
        ("trend.requested.v1", "trend", ReportTrends(request_id="t1", limit=5)),
    ]


async def test_each_topic_reaches_its_service_and_lifecycle_is_schema_valid(
    stack: Stack, bootstrap: str
) -> None:
    expected: dict[str, str] = {}
    post = post_envelope(11)
    value, headers = wire(post)
    await produce(bootstrap, stack.prefix + "posts.ingested.v1", value, headers=headers)
    expected[post.event_id] = "retrieval"
    for topic, service, payload in _envelopes():
        event_type, version = topic.rsplit(".v", 1)
        env = make_envelope(
            payload,
            event_type=event_type,
            schema_version=int(version),
            producer="other-team@1.0",
            tenant_id="acme",
        )
        value, headers = wire(env)
        await produce(bootstrap, stack.prefix + topic, value, headers=headers)
        expected[env.event_id] = service

    def complete(records: list[Any]) -> bool:
        docs = [json.loads(r.value) for r in records]
        ended = {
            d.get("causation_id")
            for d in docs
            if d.get("payload", {}).get("kind") in ("run_completed", "error")
        }
        return set(expected) <= ended

    records = await read_topic(
        bootstrap, stack.prefix + "lifecycle.v1", until=complete, timeout_s=60
    )
    schema = _schema("lifecycle.v1")
    by_cause: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        doc = json.loads(record.value)
        jsonschema.validate(doc, schema)
        by_cause.setdefault(doc["causation_id"], []).append(doc)
    for event_id, service in expected.items():
        events = by_cause[event_id]
        # Only the addressed service reacts and ends the run once: completed, or (the digest
        # of a window with no posts) an error saying so. A multi-step service such as digest
        # also reports the run's start.
        assert {e["payload"]["service"] for e in events} == {service}
        kinds = [e["payload"]["kind"] for e in events]
        ends = [k for k in kinds if k in ("run_completed", "error")]
        assert len(ends) == 1, kinds
        assert set(kinds) <= {"run_started", "run_completed", "error"}, kinds
        if service != "digest":
            assert ends == ["run_completed"], kinds


async def test_garbage_on_every_consumed_topic_is_dead_lettered(
    stack: Stack, bootstrap: str
) -> None:
    consumed = {
        "posts.ingested.v1": "retrieval",
        "posts.deleted.v1": "retrieval",
        "retrieval.requested.v1": "retrieval",
        "retrieval.completed.v1": "digest",
        "digest.requested.v1": "digest",
        "posts.indexed.v1": "trend",
        "trend.requested.v1": "trend",
        "queries.requested.v1": "router",
        "lifecycle.v1": "memory",
    }
    for topic in consumed:
        await produce(bootstrap, stack.prefix + topic, b"garbage " + topic.encode())

    def complete(records: list[Any]) -> bool:
        return {json.loads(r.value)["payload"]["original_topic"] for r in records} >= {
            stack.prefix + t for t in consumed
        }

    records = await read_topic(
        bootstrap, stack.prefix + "deadletter.v1", until=complete, timeout_s=60
    )
    schema = _schema("deadletter.v1")
    for record in records:
        doc = json.loads(record.value)
        jsonschema.validate(doc, schema)
        letter = doc["payload"]
        topic = letter["original_topic"].removeprefix(stack.prefix)
        if topic in consumed:
            assert letter["service"] == consumed[topic]
            assert letter["error_category"] == "invalid"


def test_logs_are_json_lines(stack: Stack) -> None:
    for name in SERVICES:
        lines = [ln for ln in (stack.logs / f"{name}.log").read_text().splitlines() if ln.strip()]
        assert lines, name
        for line in lines:
            doc = json.loads(line)  # every line, ours or a library's, is one JSON object
            assert {"event", "level", "timestamp"} <= set(doc), line
