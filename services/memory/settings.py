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
    retention_days: int = Field(default=90, ge=1, le=3650)
    """Episodes older than this many days are removed (and not stored when they arrive late)."""
    retention_interval_s: float = Field(default=3600.0, gt=0)
    """Seconds between two runs of the retention job (the first run is at start-up)."""
    retention_delete_batch: int = Field(default=5000, ge=1, le=1_000_000)
    """Rows deleted per statement from the boundary partition, so each lock is short."""
    partitions_ahead: int = Field(default=2, ge=1, le=24)
    """Monthly partitions created ahead of the current month."""
    batch_max_records: int = Field(default=500, ge=1, le=10_000)
    """Lifecycle events taken per poll and stored with one INSERT."""
    batch_timeout_ms: int = Field(default=200, ge=1, le=60_000)
    batch_linger_ms: int = Field(default=250, ge=0, le=10_000)
    """How long the broker may hold a fetch for a fuller poll (0: hand over any event at once);
    an episode is stored at most this much later, for far less CPU per event."""
    read_timeout_s: float = Field(default=5.0, gt=0, le=300)
    """Statement timeout of one API read; slower reads answer 503 rather than hang."""
