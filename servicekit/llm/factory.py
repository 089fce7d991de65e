"""Choosing and building the LLM client from settings (the composition root calls this)."""

from __future__ import annotations

import httpx

from servicekit.clock import Clock
from servicekit.llm.breaker import CircuitBreaker
from servicekit.llm.metrics import PerformanceMetrics
from servicekit.llm.openai_compat import OpenAIProvider
from servicekit.llm.port import ChatProvider
from servicekit.llm.resilient import ResilientLLM
from servicekit.llm.scripted import ScriptedProvider
from servicekit.llm.settings import LLMSettings


def build_llm(
    settings: LLMSettings,
    *,
    metrics: PerformanceMetrics | None = None,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ResilientLLM | None:
    """The resilient client for ``settings.provider``, or None for ``offline`` (callers then
    take their extractive or rule-based path). A ``ResilientLLM`` is an ``LLMClient``; close
    it with ``aclose()`` at shutdown.

    ``metrics`` receives the ``llm_*`` series; ``clock`` drives the circuit breaker;
    ``transport`` replaces the OpenAI-compatible client's HTTP transport (tests). Nothing is
    sent until the first call. The ``gigachat`` SDK is imported only for that provider.
    """
    if settings.provider == "offline":
        return None
    provider: ChatProvider
    if settings.provider == "openai":
        assert settings.openai_base_url is not None  # checked by LLMSettings
        provider = OpenAIProvider(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            json_response_format=settings.openai_json_response_format,
            timeout_s=settings.timeout_s,
            transport=transport,
        )
    elif settings.provider == "scripted":
        provider = ScriptedProvider(latency_s=settings.scripted_latency_ms / 1000)
    else:
        from servicekit.llm.gigachat_sdk import GigaChatProvider

        assert settings.gigachat_credentials is not None  # checked by LLMSettings
        provider = GigaChatProvider(
            credentials=settings.gigachat_credentials,
            model=settings.gigachat_model,
            scope=settings.gigachat_scope,
            base_url=settings.gigachat_base_url,
            auth_url=settings.gigachat_auth_url,
            timeout_s=settings.timeout_s,
            verify_ssl=settings.gigachat_verify_ssl,
            ca_bundle=settings.gigachat_ca_bundle,
        )
    breaker = CircuitBreaker(
        failures=settings.breaker_failures,
        reset_s=settings.breaker_reset_s,
        name=provider.provider,
        clock=clock,
    )
    return ResilientLLM(
        provider,
        retries=settings.retries,
        backoff_s=settings.retry_backoff_s,
        breaker=breaker,
        max_timeout_s=settings.timeout_s,
        metrics=metrics,
    )
