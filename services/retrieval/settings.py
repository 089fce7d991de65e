"""Settings of the retrieval service (env prefix ``TGI_RETRIEVAL_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class RetrievalSettings(ServiceSettings):
    """Everything the retrieval service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_RETRIEVAL_")
    service_name: ClassVar[str] = "retrieval"
    default_http_port: ClassVar[int] = 8081

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
