"""Settings of the memory service (env prefix ``TGI_MEMORY_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class MemorySettings(ServiceSettings):
    """Everything the memory service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_MEMORY_")
    service_name: ClassVar[str] = "memory"
    default_http_port: ClassVar[int] = 8084

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
