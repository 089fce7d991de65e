"""The GigaChat provider (official SDK) against the local fake: OAuth, usage, errors, deadline."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import SecretStr

from servicekit.llm import (
    Budget,
    LLMRejected,
    LLMSettings,
    LLMTimeout,
    LLMUnavailable,
    Message,
    ResilientLLM,
    build_llm,
)
from servicekit.llm.gigachat_sdk import GigaChatProvider
from tests.unit.llm.fake_api import CREDENTIALS, TOKEN, Answer, FakeServer

pytestmark = pytest.mark.unit

MESSAGES = [Message("system", "Ты — помощник."), Message("user", "Что случилось вчера?")]


def _llm(server: FakeServer, **settings: Any) -> ResilientLLM:
    base: dict[str, Any] = {
        "provider": "gigachat",
        "gigachat_credentials": SecretStr(CREDENTIALS),
        "gigachat_base_url": f"{server.url}/api/v1",
        "gigachat_auth_url": f"{server.url}/oauth",
        "retries": 2,
        "retry_backoff_s": 0.001,
    }
    llm = build_llm(LLMSettings(**(base | settings)))
    assert isinstance(llm, ResilientLLM)
    return llm


async def test_token_exchange_once_then_real_usage(server: FakeServer) -> None:
    server.queue(Answer(content="Вчера ЦБ сохранил ставку.", usage=(48, 11)), Answer(usage=(5, 2)))
    llm = _llm(server)
    budget = Budget()
    first = await llm.complete(MESSAGES, budget=budget, max_tokens=100)
    second = await llm.complete(MESSAGES, budget=budget, max_tokens=100)
    assert (first.text, first.tokens_in, first.tokens_out) == ("Вчера ЦБ сохранил ставку.", 48, 11)
    assert (first.provider, first.model, first.estimated) == ("gigachat", "GigaChat:served", False)
    assert second.tokens == 7
    assert (budget.llm_calls, budget.tokens) == (2, 66)
    assert server.token_requests == 1  # the access token is cached between calls
    path, headers, body = server.requests[0]
    assert path == "/api/v1/chat/completions"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert body["model"] == "GigaChat"
    assert body["max_tokens"] == 100
    assert body["messages"] == [
        {"role": "system", "content": "Ты — помощник."},
        {"role": "user", "content": "Что случилось вчера?"},
    ]
    await llm.aclose()


async def test_temperature_zero_is_sent_as_the_smallest_allowed(server: FakeServer) -> None:
    llm = _llm(server)
    await llm.complete(MESSAGES, budget=Budget(), temperature=0.0, json_mode=True)
    await llm.complete(MESSAGES, budget=Budget(), temperature=0.7)
    temperatures = [body["temperature"] for _, _, body in server.requests]
    assert temperatures == [0.01, 0.7]
    assert "response_format" not in server.requests[0][2]
    await llm.aclose()


async def test_an_expiring_token_is_exchanged_again(server: FakeServer) -> None:
    server.token_ttl_s = 30  # inside the SDK's 60 s refresh margin
    llm = _llm(server)
    await llm.complete(MESSAGES, budget=Budget())
    await llm.complete(MESSAGES, budget=Budget())
    assert server.token_requests == 2
    await llm.aclose()


async def test_server_errors_are_retried(server: FakeServer) -> None:
    server.queue(Answer(status=500), Answer(status=429))
    llm = _llm(server)
    assert (await llm.complete(MESSAGES, budget=Budget())).tokens == 28
    assert server.chat_requests == 3
    await llm.aclose()


async def test_refused_credentials_are_unavailable_and_not_retried(server: FakeServer) -> None:
    llm = _llm(server, gigachat_credentials=SecretStr("d3Jvbmc6a2V5"))
    with pytest.raises(LLMUnavailable, match="HTTP 401"):
        await llm.complete(MESSAGES, budget=Budget())
    assert server.token_requests == 1
    assert server.chat_requests == 0
    await llm.aclose()


async def test_an_oauth_outage_is_transient(server: FakeServer) -> None:
    server.oauth_status = 503
    llm = _llm(server)
    with pytest.raises(LLMUnavailable, match=r"HTTP 503 \(3 attempts\)"):
        await llm.complete(MESSAGES, budget=Budget())
    assert server.token_requests == 3
    await llm.aclose()


async def test_invalid_parameters_are_rejected_once(server: FakeServer) -> None:
    server.queue(Answer(status=422))
    llm = _llm(server)
    with pytest.raises(LLMRejected, match="HTTP 422"):
        await llm.complete(MESSAGES, budget=Budget())
    assert server.chat_requests == 1
    await llm.aclose()


async def test_a_slow_server_is_cut_at_the_deadline(server: FakeServer) -> None:
    llm = _llm(server)
    await llm.complete(MESSAGES, budget=Budget())  # token fetched, connection warm
    server.queue(Answer(delay_s=2.0))
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        await llm.complete(MESSAGES, budget=Budget(), timeout_s=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.3 + 0.15
    await llm.aclose()


def test_repr_has_no_credentials() -> None:
    provider = GigaChatProvider(credentials=SecretStr(CREDENTIALS))
    assert CREDENTIALS not in repr(provider)
    assert repr(provider) == "GigaChatProvider(model='GigaChat')"
