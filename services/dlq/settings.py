"""Settings of the dlq service (env prefix ``TGI_DLQ_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, PostgresDsn, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class DlqSettings(ServiceSettings):
    """Everything the dlq service reads from its environment.

    A retry of an entry whose delivery ``n`` failed is due ``retry_base_s · 2^(n-1)`` after
    that failure, plus up to ``retry_jitter`` of it (never earlier), and at most
    ``retry_max_delay_s``. ``max_attempts`` counts deliveries, the original one included:
    with 3, a message is delivered at most three times before ``failed_permanently``.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_DLQ_")
    service_name: ClassVar[str] = "dlq"
    default_http_port: ClassVar[int] = 8085

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=2, le=100)
    retry_base_s: float = Field(default=60.0, ge=0.001, le=86_400)
    retry_jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    retry_max_delay_s: float = Field(default=86_400.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=20)
    poll_interval_s: float = Field(default=1.0, ge=0.005, le=60)
    batch_size: int = Field(default=100, ge=1, le=1000)
    lease_s: float = Field(default=60.0, ge=1.0, le=3600)
    publish_timeout_s: float = Field(default=10.0, gt=0, le=600)
    stats_interval_s: float = Field(default=10.0, ge=0.1, le=3600)
    resolution_linger_ms: int = Field(default=500, ge=0, le=10_000)
    """How long the broker may hold a fetch of lifecycle events for a fuller poll: the DLQ
    reads every event to find the few naming its entries (0: hand over any event at once)."""

    @model_validator(mode="after")
    def _lease_outlives_publish(self) -> Self:
        # A lease must outlast the publish it covers, or a healthy but slow replica could lose
        # its lease mid-publish and another replica would publish the same entry again.
        if self.lease_s < 2 * self.publish_timeout_s:
            raise ValueError("lease_s must be at least twice publish_timeout_s")
        return self
