"""Secrets (API key, GigaChat authorization key, access token) never reach a log, an error
message or a repr, whatever the call's outcome."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from servicekit.llm import Budget, LLMError, LLMSettings, Message, build_llm
from tests.unit.llm.fake_api import API_KEY, CREDENTIALS, SECRETS, Answer, FakeServer

pytestmark = pytest.mark.unit

MESSAGES = [Message("user", "ping")]


async def _exercise(settings: LLMSettings, server: FakeServer, seen: list[str]) -> None:
    server.queue(Answer(), Answer(status=503), Answer(status=503), Answer(delay_s=1.0))
    llm = build_llm(settings)
    assert llm is not None
    seen += [repr(llm), repr(settings), str(settings), repr(settings.model_dump())]
    for timeout_s in (2.0, 2.0, 0.2):
        try:
            await llm.complete(MESSAGES, budget=Budget(), timeout_s=timeout_s)
        except LLMError as exc:
            seen += [str(exc), repr(exc), repr(exc.__cause__), repr(exc.__context__)]
    await llm.aclose()


async def test_no_secret_in_logs_errors_or_reprs(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    common: dict[str, Any] = {"retries": 1, "retry_backoff_s": 0.001}
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG), capture_logs() as events:
        await _exercise(
            LLMSettings(
                provider="openai",
                openai_base_url=f"{server.url}/v1",
                openai_api_key=SecretStr(API_KEY),
                **common,
            ),
            server,
            seen,
        )
        await _exercise(
            LLMSettings(
                provider="gigachat",
                gigachat_credentials=SecretStr(CREDENTIALS),
                gigachat_base_url=f"{server.url}/api/v1",
                gigachat_auth_url=f"{server.url}/oauth",
                **common,
            ),
            server,
            seen,
        )
        bad = LLMSettings(
            provider="gigachat",
            gigachat_credentials=SecretStr(CREDENTIALS + "x"),
            gigachat_base_url=f"{server.url}/api/v1",
            gigachat_auth_url=f"{server.url}/oauth",
        )
        await _exercise(bad, server, seen)
    assert any(e["event"] == "llm attempt failed" for e in events)  # the logs were captured
    assert caplog.records  # and so were the SDK's and httpx's
    text = "\n".join([*seen, *(repr(e) for e in events), *(r.getMessage() for r in caplog.records)])
    for secret in SECRETS:
        assert secret not in text
