"""Settings of the digest service (env prefix ``TGI_DIGEST_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn
from pydantic_settings import SettingsConfigDict

from servicekit.llm import LLMSettingsFields
from servicekit.settings import ServiceSettings
from services.digest.llm import MAX_CALLS, MAX_TOKENS
from services.digest.runner import RunParams
from services.digest.schedules.loop import LoopParams


class DigestSettings(ServiceSettings, LLMSettingsFields):
    """Everything the digest service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_DIGEST_")
    service_name: ClassVar[str] = "digest"
    default_http_port: ClassVar[int] = 8082

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
    max_posts: int = Field(default=20_000, ge=100, le=200_000)
    """Posts read per window at most (the newest are kept)."""
    min_posts: int = Field(default=20, ge=0)
    """Fewer posts than this in the window: a smart run widens it once (x2)."""
    max_items: int = Field(default=8, ge=1, le=30)
    budget_max_llm_calls: int = Field(default=MAX_CALLS, ge=0, le=MAX_CALLS)
    budget_max_tokens: int = Field(default=MAX_TOKENS, ge=0, le=MAX_TOKENS)
    schedule_interval_s: float = Field(default=30.0, gt=0, le=3600)
    """How often the schedule loop looks for due schedules."""
    schedule_batch_size: int = Field(default=100, ge=1, le=1000)
    """Schedules fired per claim at most (a full claim is followed by another at once)."""
    schedule_publish_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """How long one scheduled request may wait for the broker's acknowledgement."""

    def loop_params(self) -> LoopParams:
        """The schedule loop's cadence and bounds."""
        return LoopParams(
            interval_s=self.schedule_interval_s,
            batch_size=self.schedule_batch_size,
            publish_timeout_s=self.schedule_publish_timeout_s,
        )

    def run_params(self) -> RunParams:
        """The runner's limits."""
        return RunParams(
            max_posts=self.max_posts,
            min_posts=self.min_posts,
            max_items=self.max_items,
            llm_timeout_s=self.llm_timeout_s,
            max_llm_calls=self.budget_max_llm_calls,
            max_tokens=self.budget_max_tokens,
        )
