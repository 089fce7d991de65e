"""Settings: prefixes, shared fallbacks, clear errors for missing values, no placeholder secrets."""

from __future__ import annotations

import pytest

from servicekit.errors import ConfigError
from servicekit.settings import load_settings
from services.memory.settings import MemorySettings
from services.router.settings import RouterSettings

pytestmark = pytest.mark.unit


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("TGI_"):
            monkeypatch.delenv(key)


def test_missing_required_value_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    with pytest.raises(ConfigError) as info:
        load_settings(MemorySettings)
    message = str(info.value)
    assert "postgres_dsn" in message
    assert "TGI_MEMORY_POSTGRES_DSN" in message
    assert "TGI_POSTGRES_DSN" in message


def test_service_prefix_overrides_shared_value(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("TGI_POSTGRES_DSN", "postgresql://shared@127.0.0.1:5432/a")
    monkeypatch.setenv("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:1111")
    monkeypatch.setenv("TGI_MEMORY_KAFKA_BOOTSTRAP", "127.0.0.1:2222")
    settings = load_settings(MemorySettings)
    assert settings.kafka_bootstrap == "127.0.0.1:2222"
    assert str(settings.postgres_dsn).startswith("postgresql://shared@")
    assert load_settings(RouterSettings).kafka_bootstrap == "127.0.0.1:1111"


def test_invalid_value_is_reported_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("TGI_ROUTER_HTTP_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="TGI_ROUTER_HTTP_PORT"):
        load_settings(RouterSettings)


def test_placeholder_secret_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("TGI_POSTGRES_DSN", "postgresql://x@127.0.0.1:1/x")
    monkeypatch.setenv("TGI_ENV", "prod")
    monkeypatch.setenv("TGI_KAFKA_SASL_PASSWORD", "changeme")
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(RouterSettings)
    monkeypatch.setenv("TGI_ENV", "dev")
    assert load_settings(RouterSettings).kafka_sasl_password is not None


def test_settings_are_frozen_and_topics_prefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("TGI_POSTGRES_DSN", "postgresql://x@127.0.0.1:1/x")
    settings = load_settings(RouterSettings, topic_prefix="t1.")
    assert settings.topic("posts.ingested.v1") == "t1.posts.ingested.v1"
    assert settings.group_id == "t1.router"
    assert settings.port == 8080
    with pytest.raises(Exception, match="frozen"):
        settings.env = "prod"  # type: ignore[misc]
