"""Credentials on every endpoint, and tenant A's data never reaching tenant B.

Routes are enumerated from the router's published OpenAPI document, so an endpoint added
later is covered without touching this file.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from contracts.envelope import make_envelope
from contracts.v1.queries import AnswerQuery
from tests.helpers.chaos import Producer, eventually, read_all
from tests.security.conftest import SecureStack

pytestmark = [pytest.mark.security, pytest.mark.timeout(600)]
OPEN = {"/health", "/ready", "/metrics"}


async def _operations(secure: SecureStack) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(timeout=10) as http:
        doc = (await http.get(secure.url("/openapi.json"))).json()
    ops = [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert ops, "the OpenAPI document lists no operations"
    return ops


def _concrete(path: str, value: str = "x") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _jwt(secure: SecureStack, tenant: str, *, secret: str | None = None, exp_s: int = 300) -> str:
    claims = {"tenant": tenant, "sub": "jwt-user", "exp": int(time.time()) + exp_s}
    return jwt.encode(claims, secret or secure.secrets["jwt_secret"], algorithm="HS256")


def _question(secure: SecureStack, n: int = 11) -> dict[str, str]:
    return {"text": " ".join(secure.a.posts[n].text.split()[:8])}


async def test_every_endpoint_but_health_ready_metrics_needs_a_credential(
    secure: SecureStack,
) -> None:
    operations = await _operations(secure)
    protected = [(m, p) for m, p in operations if p not in OPEN]
    assert protected
    bad_credentials: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer tgi_not-a-real-key"},
        {"X-API-Key": "tgi_" + uuid.uuid4().hex},
        {"Authorization": "Basic " + "YWxpY2U6c2VjcmV0"},
        {"Authorization": "Bearer " + _jwt(secure, secure.a.name, secret="x" * 40)},
        {"Authorization": "Bearer " + _jwt(secure, secure.a.name, exp_s=-60)},
        {
            "Authorization": "Bearer "
            + jwt.encode({"tenant": secure.a.name}, key="", algorithm="none")
        },
    ]
    async with httpx.AsyncClient(timeout=30) as http:
        for method, path in protected:
            for headers in bad_credentials:
                r = await http.request(
                    method, secure.url(_concrete(path)), json={}, headers=headers
                )
                assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
        for path in OPEN:
            assert (await http.get(secure.url(path))).status_code in (200, 503), path


async def test_internal_apis_need_the_internal_token_and_refuse_tenant_credentials(
    secure: SecureStack,
) -> None:
    """Memory, digest and DLQ answer only our services and operators: no credential, a random
    bearer, or tenant A's gateway key or JWT gets 401 on every operation of their OpenAPI."""
    a = secure.a
    bad_credentials: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer " + "int-" + uuid.uuid4().hex},
        {"Authorization": f"Bearer {a.key}"},
        {"X-API-Key": a.key},
        {"Authorization": "Bearer " + _jwt(secure, a.name)},
        {"Authorization": secure.secrets["internal_token"]},  # no scheme
    ]
    internal = {"Authorization": "Bearer " + secure.secrets["internal_token"]}
    fleet = secure.fleet
    async with httpx.AsyncClient(timeout=30) as http:
        for service in ("memory", "digest", "dlq"):
            doc = (await http.get(fleet.url(service, "/openapi.json"))).json()
            operations = [
                (method.upper(), path)
                for path, item in doc["paths"].items()
                for method in item
                if path not in OPEN
            ]
            assert operations, service
            for method, path in operations:
                url = fleet.url(service, _concrete(path))
                for headers in bad_credentials:
                    r = await http.request(method, url, json={}, headers=headers)
                    assert r.status_code == 401, (service, method, path, headers, r.text)
                    assert r.headers["www-authenticate"] == "Bearer"
        # the token opens them: tenant A's episodes through memory, the DLQ's stats
        episodes = await http.get(
            fleet.url("memory", "/v1/episodes"), params={"tenant_id": a.name}, headers=internal
        )
        assert episodes.status_code == 200, episodes.text
        stats = await http.get(fleet.url("dlq", "/v1/stats"), headers=internal)
        assert stats.status_code == 200, stats.text


async def test_tenant_b_gets_nothing_of_tenant_a_through_any_endpoint(secure: SecureStack) -> None:
    a, b = secure.a, secure.b
    as_a = {"X-API-Key": a.key}
    credentials_b = [
        {"X-API-Key": b.key},
        {"Authorization": f"Bearer {b.key}"},
        {"Authorization": "Bearer " + _jwt(secure, b.name)},
    ]
    leaks = [a.name, *sorted(a.post_ids())]
    async with httpx.AsyncClient(timeout=30) as http:
        # tenant A's own resources: a fast answer (its run) and a digest run
        mine = await http.post(secure.url("/v1/rag/query"), json=_question(secure), headers=as_a)
        assert mine.status_code == 200, mine.text
        assert any(s["post_id"] in a.post_ids() for s in mine.json()["sources"])
        digest = await http.post(
            secure.url("/v1/digests"),
            json={"kind": "channel", "channels": [a.posts[0].channel_id], "period_days": 7},
            headers=as_a,
        )
        assert digest.status_code == 202, digest.text
        run_ids = {mine.json()["run_id"], digest.json()["run_id"]}
        assert (
            await http.get(secure.url(f"/v1/runs/{mine.json()['run_id']}"), headers=as_a)
        ).status_code == 200

        for headers in credentials_b:
            for method, path in await _operations(secure):
                if path in OPEN:
                    continue
                for run_id in sorted(run_ids):
                    url = secure.url(_concrete(path, run_id))
                    body: dict[str, Any] = {}
                    if path == "/v1/rag/query":
                        body = {**_question(secure), "channels": [a.posts[0].channel_id]}
                    elif path == "/v1/digests":
                        body = {
                            "kind": "channel",
                            "channels": [a.posts[0].channel_id],
                            "period_days": 7,
                        }
                    r = await http.request(method, url, json=body or None, headers=headers)
                    assert r.status_code < 500, (method, path, r.status_code, r.text)
                    if "{" in path:
                        assert r.status_code == 404, (method, path, r.status_code, r.text)
                    for leak in leaks:
                        assert leak not in r.text, (method, path, leak, r.text[:500])
            # a body naming tenant A is refused, never obeyed
            spoof = await http.post(
                secure.url("/v1/rag/query"),
                json={**_question(secure), "tenant_id": a.name},
                headers=headers,
            )
            assert spoof.status_code == 422, spoof.text


async def test_kafka_query_of_tenant_b_cites_only_tenant_b(secure: SecureStack) -> None:
    a, b = secure.a, secure.b
    query_id = f"iso-{uuid.uuid4().hex[:8]}"
    request = make_envelope(
        AnswerQuery(query_id=query_id, user_id="team-b", **_question(secure, 9)),
        event_type="queries.requested",
        schema_version=1,
        producer="other-team@1.0",
        tenant_id=b.name,
    )
    async with Producer(secure.bootstrap) as producer:
        await producer.send_envelope(
            secure.prefix + "queries.requested.v1", request, key=f"{b.name}:team-b"
        )

    async def answered() -> list[dict[str, Any]]:
        docs = await read_all(secure.bootstrap, secure.prefix + "queries.answered.v1")
        return [d for d in docs if d.get("causation_id") == request.event_id]

    (answer, *_) = await eventually(answered, timeout_s=90, what="the Kafka query answered")
    assert answer["tenant_id"] == b.name
    text = json.dumps(answer, ensure_ascii=False)
    for leak in [a.name, *a.post_ids()]:
        assert leak not in text
    assert all(c["post_id"].startswith(b.name + ":") for c in answer["payload"]["citations"])
