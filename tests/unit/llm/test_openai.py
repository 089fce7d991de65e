"""The OpenAI-compatible provider behind build_llm: requests, usage, errors, deadlines.

Most tests use ``httpx.MockTransport`` (no sockets); the deadline test uses the local fake
server so that a real slow HTTP response is cut.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from servicekit.llm import (
    Budget,
    BudgetExceeded,
    LLMBadOutput,
    LLMRejected,
    LLMSettings,
    LLMTimeout,
    LLMUnavailable,
    Message,
    ResilientLLM,
    build_llm,
    estimate_prompt_tokens,
    estimate_tokens,
    parse_json,
)
from servicekit.llm.openai_compat import OpenAIProvider
from tests.unit.llm.fake_api import API_KEY, Answer, FakeServer

pytestmark = pytest.mark.unit

MESSAGES = [Message("system", "Reply with a JSON object."), Message("user", "Курс доллара?")]
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def _reply(content: str = "Ответ", usage: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "qwen2.5-7b-instruct",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


class Recorder:
    """A MockTransport handler answering from a list of (status, body or delay)."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0) if self.answers else (200, _reply())
        if isinstance(body, float):
            await asyncio.sleep(body)
            body = _reply()
        if isinstance(body, Exception):
            raise body
        return httpx.Response(status, json=body)


def _llm(handler: Recorder, **settings: Any) -> ResilientLLM:
    base: dict[str, Any] = {
        "provider": "openai",
        "openai_base_url": "http://llm.test/v1/",
        "openai_api_key": SecretStr(API_KEY),
        "openai_model": "qwen2.5-7b-instruct",
        "retries": 2,
        "retry_backoff_s": 0.001,
    }
    llm = build_llm(LLMSettings(**(base | settings)), transport=httpx.MockTransport(handler))
    assert isinstance(llm, ResilientLLM)
    return llm


async def test_request_shape_and_real_usage() -> None:
    handler = Recorder((200, _reply(usage={"prompt_tokens": 31, "completion_tokens": 9})))
    llm = _llm(handler)
    budget = Budget()
    completion = await llm.complete(MESSAGES, budget=budget, max_tokens=64, temperature=0.2)
    assert (completion.text, completion.tokens_in, completion.tokens_out) == ("Ответ", 31, 9)
    assert (completion.provider, completion.model, completion.estimated) == (
        "openai",
        "qwen2.5-7b-instruct",
        False,
    )
    assert (budget.llm_calls, budget.tokens) == (1, 40)
    request = handler.requests[0]
    assert str(request.url) == "http://llm.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = json.loads(request.content)
    assert body == {
        "model": "qwen2.5-7b-instruct",
        "messages": [
            {"role": "system", "content": "Reply with a JSON object."},
            {"role": "user", "content": "Курс доллара?"},
        ],
        "max_tokens": 64,
        "temperature": 0.2,
        "stream": False,
    }
    await llm.aclose()


async def test_missing_usage_is_estimated_and_marked() -> None:
    llm = _llm(Recorder((200, _reply("Четыре слова в ответе"))))
    budget = Budget()
    completion = await llm.complete(MESSAGES, budget=budget)
    assert completion.estimated is True
    assert completion.tokens_in == estimate_prompt_tokens(MESSAGES)
    assert completion.tokens_out == estimate_tokens("Четыре слова в ответе")
    assert budget.tokens == completion.tokens_in + completion.tokens_out


class Route(BaseModel):
    route: str


async def test_json_mode_asks_for_a_json_object_and_the_answer_parses_strictly() -> None:
    handler = Recorder(
        (200, _reply('```json\n{"route": "digest"}\n```')),
        (200, _reply('{"route": "digest"} — вот ответ')),
    )
    llm = _llm(handler)
    first = await llm.complete(MESSAGES, budget=Budget(), json_mode=True)
    assert parse_json(first.text, Route) == Route(route="digest")
    assert json.loads(handler.requests[0].content)["response_format"] == {"type": "json_object"}
    second = await llm.complete(MESSAGES, budget=Budget(), json_mode=True)
    with pytest.raises(LLMBadOutput, match="Extra data"):
        parse_json(second.text, Route)


async def test_json_response_format_can_be_turned_off_for_servers_without_it() -> None:
    handler = Recorder()
    llm = _llm(handler, openai_json_response_format=False)
    await llm.complete(MESSAGES, budget=Budget(), json_mode=True)
    assert "response_format" not in json.loads(handler.requests[0].content)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(status: int) -> None:
    handler = Recorder((status, {"error": "x"}), (status, {"error": "x"}))
    llm = _llm(handler)
    assert (await llm.complete(MESSAGES, budget=Budget())).text == "Ответ"
    assert len(handler.requests) == 3


async def test_connection_errors_are_retried_then_unavailable() -> None:
    refused = httpx.ConnectError("connection refused")
    handler = Recorder(*((200, refused) for _ in range(3)))
    llm = _llm(handler)
    with pytest.raises(LLMUnavailable, match=r"ConnectError \(3 attempts\)"):
        await llm.complete(MESSAGES, budget=Budget())
    assert len(handler.requests) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, LLMRejected),
        (413, LLMRejected),
        (422, LLMRejected),
        (401, LLMUnavailable),
        (403, LLMUnavailable),
        (404, LLMUnavailable),
    ],
)
async def test_client_errors_are_never_retried(status: int, error: type[Exception]) -> None:
    handler = Recorder((status, {"error": "x"}))
    llm = _llm(handler)
    with pytest.raises(error, match=f"HTTP {status}"):
        await llm.complete(MESSAGES, budget=Budget())
    assert len(handler.requests) == 1


@pytest.mark.parametrize(
    "body",
    [{"choices": []}, {"choices": [{"message": {"content": 42}}]}, ["not", "an", "object"]],
)
async def test_a_malformed_response_is_unavailable_not_retried(body: Any) -> None:
    handler = Recorder((200, body))
    llm = _llm(handler)
    with pytest.raises(LLMUnavailable, match="malformed response"):
        await llm.complete(MESSAGES, budget=Budget())
    assert len(handler.requests) == 1


async def test_a_budget_too_small_sends_no_request() -> None:
    handler = Recorder()
    llm = _llm(handler)
    with pytest.raises(BudgetExceeded, match="tokens budget exceeded"):
        await llm.complete(MESSAGES, budget=Budget(max_tokens=200), max_tokens=512)
    assert handler.requests == []


async def test_a_slow_server_is_cut_at_the_deadline(server: FakeServer) -> None:
    server.queue(Answer(delay_s=2.0))
    llm = build_llm(
        LLMSettings(
            provider="openai",
            openai_base_url=f"{server.url}/v1",
            openai_api_key=SecretStr(API_KEY),
        )
    )
    assert llm is not None
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        await llm.complete(MESSAGES, budget=Budget(), timeout_s=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.3 + 0.15
    # the same client still works afterwards, over the real socket
    reply = await llm.complete(MESSAGES, budget=Budget(), timeout_s=2.0)
    assert (reply.tokens_in, reply.tokens_out, reply.estimated) == (21, 7, False)
    await llm.aclose()


def test_repr_has_no_key() -> None:
    provider = OpenAIProvider(base_url="http://x/v1", model="m", api_key=SecretStr(API_KEY))
    assert API_KEY not in repr(provider)
