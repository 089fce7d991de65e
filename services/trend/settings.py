"""Settings of the trend service (env prefix ``TGI_TREND_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class TrendSettings(ServiceSettings):
    """Everything the trend service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_TREND_")
    service_name: ClassVar[str] = "trend"
    default_http_port: ClassVar[int] = 8083

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
