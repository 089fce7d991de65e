"""Settings of the digest service (env prefix ``TGI_DIGEST_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class DigestSettings(ServiceSettings):
    """Everything the digest service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_DIGEST_")
    service_name: ClassVar[str] = "digest"
    default_http_port: ClassVar[int] = 8082

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
