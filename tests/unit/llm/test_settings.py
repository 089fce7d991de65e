"""LLM settings: env var names through a service's settings, provider checks, build_llm."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.errors import ConfigError
from servicekit.llm import LLMSettings, LLMSettingsFields, ResilientLLM, build_llm
from servicekit.settings import ServiceSettings, load_settings
from tests.unit.llm.fake_api import API_KEY, CREDENTIALS

pytestmark = pytest.mark.unit


class DemoSettings(ServiceSettings, LLMSettingsFields):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_DEMO_")
    service_name: ClassVar[str] = "demo"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("TGI_", "GIGACHAT_")):
            monkeypatch.delenv(key)


def test_the_fields_mirror_llm_settings_one_to_one() -> None:
    fields = LLMSettingsFields.model_fields
    assert list(fields) == [f"llm_{name}" for name in LLMSettings.model_fields]
    for name, field in LLMSettings.model_fields.items():
        mirror = fields[f"llm_{name}"]
        assert (mirror.annotation, mirror.default, mirror.metadata) == (
            field.annotation,
            field.default,
            field.metadata,
        ), name


def test_offline_is_the_default_and_builds_no_client() -> None:
    settings = load_settings(DemoSettings)
    assert settings.llm_settings() == LLMSettings()
    assert build_llm(settings.llm_settings()) is None


def test_service_variables_override_the_shared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGI_LLM_PROVIDER", "gigachat")
    monkeypatch.setenv("TGI_LLM_GIGACHAT_CREDENTIALS", CREDENTIALS)
    monkeypatch.setenv("TGI_LLM_TIMEOUT_S", "12.5")
    monkeypatch.setenv("TGI_DEMO_LLM_PROVIDER", "openai")
    monkeypatch.setenv("TGI_DEMO_LLM_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("TGI_DEMO_LLM_OPENAI_API_KEY", API_KEY)
    llm = load_settings(DemoSettings).llm_settings()
    assert llm.provider == "openai"
    assert llm.openai_base_url == "http://127.0.0.1:8000/v1"
    assert llm.timeout_s == 12.5
    assert llm.gigachat_credentials is not None
    assert API_KEY not in repr(llm)
    assert CREDENTIALS not in repr(llm)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TGI_LLM_PROVIDER": "openai"}, "provider openai needs openai_base_url"),
        ({"TGI_LLM_PROVIDER": "gigachat"}, "provider gigachat needs gigachat_credentials"),
        ({"TGI_LLM_PROVIDER": "claude"}, "llm_provider"),
        ({"TGI_DEMO_LLM_TIMEOUT_S": "0"}, "llm_timeout_s"),
    ],
)
def test_a_misconfigured_provider_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(DemoSettings)


def test_placeholder_secrets_are_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGI_LLM_PROVIDER", "openai")
    monkeypatch.setenv("TGI_LLM_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("TGI_LLM_OPENAI_API_KEY", "changeme")
    with pytest.raises(ConfigError, match="llm_openai_api_key holds a placeholder"):
        load_settings(DemoSettings, env="prod")


async def test_build_llm_picks_the_provider_and_its_resilience_settings() -> None:
    openai = build_llm(
        LLMSettings(provider="openai", openai_base_url="http://x/v1", openai_model="llama3.1")
    )
    giga = build_llm(
        LLMSettings(
            provider="gigachat",
            gigachat_credentials=SecretStr(CREDENTIALS),
            breaker_failures=7,
            breaker_reset_s=9,
        )
    )
    assert isinstance(openai, ResilientLLM)
    assert isinstance(giga, ResilientLLM)
    assert (openai.provider, openai.model) == ("openai", "llama3.1")
    assert (giga.provider, giga.model) == ("gigachat", "GigaChat")
    assert (giga.breaker.failures, giga.breaker.reset_s) == (7, 9)
    await openai.aclose()
    await giga.aclose()
