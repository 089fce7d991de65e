"""The dlq settings: the documented defaults, and refusals."""

from __future__ import annotations

import pytest

from servicekit.errors import ConfigError
from servicekit.settings import load_settings
from services.dlq.settings import DlqSettings

pytestmark = pytest.mark.unit
DSN = "postgresql://postgres@127.0.0.1:1/x"


def test_defaults_are_the_documented_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TGI_DLQ_RETRY_BASE_S", "TGI_RETRY_BASE_S", "TGI_DLQ_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(DlqSettings, postgres_dsn=DSN)
    assert (s.retry_base_s, s.max_attempts, s.poll_interval_s, s.port) == (60.0, 3, 1.0, 8085)


def test_environment_sets_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGI_DLQ_RETRY_BASE_S", "0.005")
    monkeypatch.setenv("TGI_DLQ_POSTGRES_DSN", DSN)
    assert load_settings(DlqSettings).retry_base_s == 0.005


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"lease_s": 10, "publish_timeout_s": 6}, "twice publish_timeout_s"),
        ({"retry_base_s": 0}, "retry_base_s"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"retry_jitter": 2}, "retry_jitter"),
    ],
)
def test_nonsense_is_refused_at_start(overrides: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(DlqSettings, postgres_dsn=DSN, **overrides)
