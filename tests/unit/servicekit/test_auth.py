"""The bearer-token guard on the internal APIs (memory, digest manifests, DLQ)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import SecretStr

from servicekit.app import ServiceKit
from servicekit.auth import ApiGuard, bearer_headers, split_tokens
from servicekit.errors import ConfigError
from servicekit.settings import load_settings
from services.memory.settings import MemorySettings

pytestmark = pytest.mark.unit
TOKEN = "internal-0123456789abcdef"
NEXT = "rotated-0123456789abcdef"


def _app(guard: ApiGuard) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/thing", dependencies=[Depends(guard)])
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    return app


async def _status(guard: ApiGuard, headers: dict[str, str]) -> tuple[int, httpx.Response]:
    transport = httpx.ASGITransport(app=_app(guard))
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as http:
        r = await http.get("/v1/thing", headers=headers)
    return r.status_code, r


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"X-API-Key": TOKEN},
    ],
)
async def test_anything_but_an_accepted_bearer_token_gets_401(headers: dict[str, str]) -> None:
    status, r = await _status(ApiGuard([TOKEN, NEXT], missing_hint="set X"), headers)
    assert status == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"detail": "missing or invalid bearer token"}


@pytest.mark.parametrize("token", [TOKEN, NEXT])
async def test_each_accepted_token_opens_the_api(token: str) -> None:
    guard = ApiGuard([TOKEN, NEXT], missing_hint="set X")
    for headers in (bearer_headers(token), {"Authorization": f"bearer  {token} "}):
        status, r = await _status(guard, headers)
        assert (status, r.json()) == (200, {"ok": "yes"}), headers


async def test_without_a_configured_token_every_request_is_refused_with_a_hint() -> None:
    guard = ApiGuard([], missing_hint="set TGI_INTERNAL_TOKEN or TGI_MEMORY_API_TOKENS")
    assert not guard.configured
    for headers in ({}, {"Authorization": "Bearer anything-at-all-long-enough"}):
        status, r = await _status(guard, headers)
        assert status == 401
        assert "TGI_INTERNAL_TOKEN or TGI_MEMORY_API_TOKENS" in r.json()["detail"]


def test_tokens_come_from_the_internal_token_and_the_comma_separated_extras() -> None:
    assert split_tokens(None, None) == []
    assert split_tokens(SecretStr(TOKEN), SecretStr(f" {NEXT} ,, op-token-0123456789 ")) == [
        TOKEN,
        NEXT,
        "op-token-0123456789",
    ]
    assert bearer_headers(None) == {}
    assert bearer_headers(SecretStr(TOKEN)) == {"Authorization": f"Bearer {TOKEN}"}


def test_a_service_kit_guards_with_its_settings_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TGI_INTERNAL_TOKEN", raising=False)
    settings = load_settings(
        MemorySettings,
        postgres_dsn="postgresql://nobody@127.0.0.1:1/none",
        internal_token=TOKEN,
        api_tokens=NEXT,
    )
    guard = ServiceKit(settings).api_guard
    assert guard.admits(f"Bearer {TOKEN}")
    assert guard.admits(f"Bearer {NEXT}")
    assert not guard.admits("Bearer someone-elses-token-123")
    bare = ServiceKit(
        load_settings(MemorySettings, postgres_dsn="postgresql://nobody@127.0.0.1:1/none")
    ).api_guard
    assert not bare.configured


@pytest.mark.parametrize("field", ["internal_token", "api_tokens"])
def test_short_tokens_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.delenv("TGI_INTERNAL_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load_settings(
            MemorySettings, postgres_dsn="postgresql://nobody@127.0.0.1:1/none", **{field: "short"}
        )


def test_a_placeholder_token_is_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TGI_INTERNAL_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(
            MemorySettings,
            env="prod",
            postgres_dsn="postgresql://nobody@127.0.0.1:1/none",
            internal_token="xxxxxxxxxxxxxxxxxxxx",
        )
