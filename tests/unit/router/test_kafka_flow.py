"""``queries.requested.v1`` in, ``queries.answered.v1`` out, on the in-memory broker: the
tenant from the envelope, one answer per query even when the request is redelivered."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from contracts.envelope import make_envelope
from contracts.v1.queries import AnswerQuery
from tests.conftest import ROOT
from tests.helpers.kit import wire
from tests.unit.router.fakes import doc
from tests.unit.router.wiring import PREFIX, World, client, compose

pytestmark = pytest.mark.unit
SCHEMA = json.loads((ROOT / "contracts/schemas/queries.answered.v1.json").read_text())


def _request(text: str, tenant: str = "acme", **fields: Any) -> Any:
    payload = AnswerQuery(query_id="q-1", user_id="u-7", text=text, **fields)
    return make_envelope(
        payload,
        event_type="queries.requested",
        schema_version=1,
        producer="other-team@1.0",
        tenant_id=tenant,
    )


def _world() -> World:
    world = World()
    world.retriever.docs["acme"] = [doc(1, "Сбербанк повысил ставки по вкладам до 22%.")]
    world.retriever.docs["other"] = [doc(5, "Пост другого арендатора о ставках.", tenant="other")]
    return world


async def test_a_query_is_answered_with_citations_for_the_envelopes_tenant() -> None:
    world = _world()
    request = _request("ставки по вкладам", tenant="other")
    async with client(compose(world)) as (_, broker):
        await broker.publish(wire(request)[0], PREFIX + "queries.requested.v1")
    (answer,) = world.answered
    jsonschema.validate(answer, SCHEMA)
    assert answer["tenant_id"] == "other"
    assert answer["causation_id"] == request.event_id
    assert answer["correlation_id"] == request.correlation_id
    payload = answer["payload"]
    assert payload["query_id"] == "q-1"
    assert payload["user_id"] == "u-7"
    assert payload["status"] == "answered"
    assert payload["route"] == "qa"
    assert [c["post_id"] for c in payload["citations"]] == ["other:-1001000724666:5"]
    assert "[1]" in payload["answer"]
    assert payload["usage"]["agent_steps"] == 3
    assert {t for t, _ in world.retriever.requests} == {"other"}
    completed = [e for e in world.lifecycle if e["payload"]["kind"] == "run_completed"]
    assert [e["causation_id"] for e in completed] == [request.event_id]


async def test_a_redelivered_query_is_answered_again_identically_without_recomputing() -> None:
    world = _world()
    request = _request("ставки")
    async with client(compose(world)) as (_, broker):
        await broker.publish(wire(request)[0], PREFIX + "queries.requested.v1")
        await broker.publish(wire(request)[0], PREFIX + "queries.requested.v1")
    first, second = world.answered
    assert first == second  # same event id, same bytes: consumers dedupe on event_id
    assert len(world.retriever.requests) == 1


async def test_a_smart_path_query_is_answered_accepted_with_its_run() -> None:
    world = _world()
    request = _request("дайджест", channels=["-1001000724666"])
    async with client(compose(world)) as (_, broker):
        await broker.publish(wire(request)[0], PREFIX + "queries.requested.v1")
        await broker.publish(wire(request)[0], PREFIX + "queries.requested.v1")
    first, again = (a["payload"] for a in world.answered)
    assert first["status"] == "accepted"
    assert first["run_id"]
    assert first["route"] == "digest"
    assert again["status"] == "accepted"
    assert again["run_id"] == first["run_id"]
    assert len(world.smart.digests) == 1  # the redelivery did not ask for a second digest
    assert world.smart.digests[0][1].channels == ["-1001000724666"]


async def test_retrieval_down_answers_failed_rather_than_never() -> None:
    world = _world()
    world.retriever.down = True
    async with client(compose(world)) as (_, broker):
        await broker.publish(wire(_request("ставки"))[0], PREFIX + "queries.requested.v1")
    (answer,) = world.answered
    assert answer["payload"]["status"] == "failed"
    assert answer["payload"]["degraded_legs"] == ["retrieval"]


async def test_garbage_is_dead_lettered_and_the_consumer_goes_on() -> None:
    world = _world()
    app = compose(world)
    letters: list[dict[str, Any]] = []

    @app.kit.broker.subscriber(PREFIX + "deadletter.v1")
    async def capture(body: dict[str, Any]) -> None:
        letters.append(body)

    async with client(app) as (_, broker):
        await broker.publish(b"not json", PREFIX + "queries.requested.v1")
        await broker.publish(wire(_request("ставки"))[0], PREFIX + "queries.requested.v1")
    assert [letter["payload"]["error_category"] for letter in letters] == ["invalid"]
    assert len(world.answered) == 1
