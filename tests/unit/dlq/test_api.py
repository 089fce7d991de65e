"""The operator REST API on a fake store: happy paths, episodes, and bad input (4xx only)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.dlq import api
from services.dlq.domain.states import Status
from tests.helpers.auth import INTERNAL_HEADERS, guard_for_tests
from tests.unit.dlq.letters import POSTS, T0, dead_letter
from tests.unit.dlq.wiring import PREFIX, Rig

pytestmark = pytest.mark.unit
NO_SUCH = "01939000-0000-7000-8000-000000000000"


@pytest.fixture
async def rig() -> Rig:
    rig = Rig()
    await rig.intake.accept(
        [
            dead_letter(offset=1),
            dead_letter(offset=2, category="invalid", tenant="beta"),
            dead_letter(offset=3, topic="retrieval.requested.v1", value=b"\xff\xfe binary"),
            dead_letter(offset=4, failed_at=T0 + timedelta(hours=2)),
        ]
    )
    return rig


@pytest.fixture
async def client(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    api.mount(app, rig.operator, guard_for_tests())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://dlq", headers=INTERNAL_HEADERS
    ) as c:
        yield c


def _ids(rig: Rig, **match: Any) -> list[str]:
    return sorted(
        r.summary.id
        for r in rig.store.rows.values()
        if all(getattr(r.summary, k) == v for k, v in match.items())
    )


async def test_list_filters_and_pages(client: httpx.AsyncClient, rig: Rig) -> None:
    everything = (await client.get("/v1/entries")).json()
    assert len(everything["items"]) == 4
    assert [e["id"] for e in everything["items"]] == sorted(rig.store.rows, reverse=True)
    parked = (await client.get("/v1/entries", params={"status": "parked"})).json()["items"]
    assert [e["error_category"] for e in parked] == ["invalid"]
    by_topic = (await client.get("/v1/entries", params={"topic": "retrieval.requested.v1"})).json()
    assert [e["topic"] for e in by_topic["items"]] == ["retrieval.requested.v1"]
    assert by_topic["items"][0]["original_topic"] == PREFIX + "retrieval.requested.v1"
    later = {"since": (T0 + timedelta(hours=1)).isoformat()}
    assert len((await client.get("/v1/entries", params=later)).json()["items"]) == 1
    both = {"status": ["pending", "parked"], "service": "probe", "tenant": "acme"}
    assert len((await client.get("/v1/entries", params=both)).json()["items"]) == 3
    klass = {"error_class": "servicekit.errors.InvalidMessage"}
    assert len((await client.get("/v1/entries", params=klass)).json()["items"]) == 1
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/entries", params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(rig.store.rows, reverse=True)


async def test_show_pretty_prints_json_and_base64s_bytes(
    client: httpx.AsyncClient, rig: Rig
) -> None:
    (json_id,) = _ids(rig, original_offset=1)
    shown = (await client.get(f"/v1/entries/{json_id}")).json()
    assert shown["payload"]["encoding"] == "json"
    assert shown["payload"]["value"]["event_type"] == "posts.ingested"
    assert shown["payload"]["pretty"].startswith('{\n  "event_id"')
    assert shown["key"] == {
        "encoding": "text",
        "size": 18,
        "value": "acme:naked_science",
        "pretty": "acme:naked_science",
    }
    assert shown["headers"]["event-type"] == "posts.ingested"
    (bin_id,) = _ids(rig, original_offset=3)
    shown = (await client.get(f"/v1/entries/{bin_id}")).json()
    assert shown["payload"]["encoding"] == "base64"


async def test_replay_park_purge_one_and_each_is_an_episode(
    client: httpx.AsyncClient, rig: Rig
) -> None:
    (parked,) = _ids(rig, status=Status.PARKED)
    r = await client.post(
        f"/v1/entries/{parked}/replay", json={"reason": "fixed"}, headers={"X-Operator": "ann"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] == [parked]
    assert body["episode_recorded"] is True
    entry = rig.store.rows[parked].summary
    assert (entry.status, entry.attempt, entry.replays) == (Status.PENDING, 0, 1)
    assert entry.next_retry_at == rig.clock.now()
    assert entry.status_reason == "replay by ann: fixed"
    episode = rig.episodes.actions[-1]
    assert episode["action"] == "replay"
    assert episode["ids"] == [parked]
    assert episode["operator"] == "ann"
    assert episode["tenant_id"] == "beta"
    assert episode["run_id"] == body["run_id"]

    assert (await client.post(f"/v1/entries/{parked}/park")).status_code == 200
    assert rig.store.rows[parked].summary.status is Status.PARKED
    assert (await client.post(f"/v1/entries/{parked}/purge")).status_code == 200
    purged = (await client.get(f"/v1/entries/{parked}")).json()
    assert purged["status"] == "purged"
    assert purged["payload"]["encoding"] == "empty"
    assert purged["headers"] == {}
    assert [a["action"] for a in rig.episodes.actions] == ["replay", "park", "purge"]
    assert rig.metric("tgi_dlq_operator_actions_total", action="purge") == 1


async def test_action_that_does_not_apply_is_409_and_unknown_is_404(
    client: httpx.AsyncClient, rig: Rig
) -> None:
    (parked,) = _ids(rig, status=Status.PARKED)
    r = await client.post(f"/v1/entries/{parked}/park")
    assert r.status_code == 409
    assert "cannot park an entry that is parked" in r.json()["detail"]
    r = await client.post(f"/v1/entries/{NO_SUCH}/replay")
    assert r.status_code == 404
    assert NO_SUCH in r.json()["detail"]
    assert (await client.get(f"/v1/entries/{NO_SUCH}")).status_code == 404
    assert rig.episodes.actions == []  # nothing changed, nothing recorded


async def test_bulk_replay_by_ids_and_by_filter(client: httpx.AsyncClient, rig: Rig) -> None:
    pending = _ids(rig, status=Status.PENDING)
    r = await client.post("/v1/actions/park", json={"ids": [*pending, NO_SUCH, pending[0]]})
    body = r.json()
    assert r.status_code == 200
    assert sorted(body["changed"]) == pending
    assert body["skipped"] == [{"id": NO_SUCH, "status": None, "reason": "no such entry"}]
    r = await client.post(
        "/v1/actions/replay",
        json={"filter": {"status": ["parked"], "topic": [POSTS]}, "limit": 2, "reason": "x"},
    )
    body = r.json()
    assert body["changed_count"] == 2
    assert {rig.store.rows[i].summary.status for i in body["changed"]} == {Status.PENDING}
    # an episode per tenant touched, one run id
    tenants = {a["tenant_id"] for a in rig.episodes.actions if a["run_id"] == body["run_id"]}
    assert tenants <= {"acme", "beta"}
    assert tenants


async def test_stats(client: httpx.AsyncClient) -> None:
    stats = (await client.get("/v1/stats")).json()
    assert stats["counts"][PREFIX + POSTS] == {"parked": 1, "pending": 2}
    assert stats["oldest_open_failed_at"] == "2024-12-04T09:00:00Z"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "says"),
    [
        ("GET", "/v1/entries/not-a-uuid", {}, 422, "uuid"),
        ("GET", "/v1/entries", {"params": {"limit": 1001}}, 422, "less than or equal to 1000"),
        ("GET", "/v1/entries", {"params": {"limit": 0}}, 422, "greater than or equal to 1"),
        ("GET", "/v1/entries", {"params": {"limit": "many"}}, 422, "integer"),
        ("GET", "/v1/entries", {"params": {"status": "lost"}}, 422, "pending"),
        ("GET", "/v1/entries", {"params": {"cursor": "x"}}, 422, "uuid"),
        ("GET", "/v1/entries", {"params": {"since": "yesterday"}}, 422, "datetime"),
        ("GET", "/v1/entries", {"params": {"since": "0001-01-01T00:00:00"}}, 422, "1970"),
        (
            "GET",
            "/v1/entries",
            {"params": {"since": "2024-12-05T00:00:00Z", "until": "2024-12-04T00:00:00Z"}},
            422,
            "earlier than until",
        ),
        ("GET", "/v1/entries", {"params": {"topic": "a b"}}, 422, "pattern"),
        ("GET", "/v1/entries", {"params": {"error_class": "x\x00y"}}, 422, "pattern"),
        ("GET", "/v1/entries", {"params": {"tenant": "-x"}}, 422, "pattern"),
        ("POST", f"/v1/entries/{NO_SUCH}/explode", {}, 422, "replay"),
        ("POST", f"/v1/entries/{NO_SUCH}/park", {"json": {"reason": 5}}, 422, "string"),
        ("POST", f"/v1/entries/{NO_SUCH}/park", {"json": {"why": "x"}}, 422, "extra"),
        ("POST", f"/v1/entries/{NO_SUCH}/park", {"json": {"reason": "a\x00b"}}, 422, "pattern"),
        ("POST", f"/v1/entries/{NO_SUCH}/park", {"content": b"{not json"}, 422, "JSON"),
        (
            "POST",
            f"/v1/entries/{NO_SUCH}/park",
            {"json": {}, "headers": {"X-Operator": "a b"}},
            422,
            "pattern",
        ),
        ("POST", "/v1/actions/replay", {"json": {}}, 422, "exactly one of ids and filter"),
        ("POST", "/v1/actions/replay", {"json": {"filter": {}}}, 422, "at least one field"),
        ("POST", "/v1/actions/replay", {"json": {"ids": []}}, 422, "at least 1"),
        ("POST", "/v1/actions/replay", {"json": {"ids": ["x"]}}, 422, "uuid"),
        ("POST", "/v1/actions/replay", {"json": {"ids": [NO_SUCH] * 1001}}, 422, "at most 1000"),
        (
            "POST",
            "/v1/actions/purge",
            {"json": {"filter": {"status": ["pending"]}, "limit": 10**9}},
            422,
            "less than or equal to 1000",
        ),
        (
            "POST",
            "/v1/actions/purge",
            {"json": {"ids": [NO_SUCH], "filter": {"status": ["pending"]}}},
            422,
            "exactly one",
        ),
    ],
)
async def test_bad_input_gets_a_clear_4xx(
    client: httpx.AsyncClient, method: str, path: str, kwargs: Any, status: int, says: str
) -> None:
    r = await client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert says.lower() in json.dumps(r.json()).lower()


async def test_store_outage_is_503_not_500(client: httpx.AsyncClient, rig: Rig) -> None:
    rig.store.unavailable = 1
    r = await client.get("/v1/entries")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
