"""Settings of the trend service (env prefix ``TGI_TREND_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings
from services.trend.domain.model import BurstParams, SimilarityParams, StoryParams


class TrendSettings(ServiceSettings):
    """Everything the trend service reads from its environment. Defaults are the values the
    evaluation (``python -m tools.eval_trend``) was run with."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_TREND_")
    service_name: ClassVar[str] = "trend"
    default_http_port: ClassVar[int] = 8083

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
    batch_max_records: int = Field(default=500, ge=1, le=10_000)
    """Posts taken per poll and processed (and stored) together."""
    batch_timeout_ms: int = Field(default=200, ge=1, le=60_000)
    idle_partition_s: float = Field(default=15.0, gt=0, le=3600)
    """A partition that delivered nothing for this long no longer holds the event-time
    watermark back (see ``domain.ordering``): the most a post waits in live traffic, and the
    longest a backlogged partition may wait to be fetched without losing exact order."""
    tick_s: float = Field(default=1.0, gt=0, le=60)
    """How often held posts are re-checked against the watermark without new traffic."""

    # The story-similarity decision: see services/trend/domain/similarity.py.
    lexical_threshold: float = Field(default=0.21, gt=0, le=1)
    """TF-IDF cosine (stems, the tenant's own idf) two single posts need to be one story;
    the bar rises with the stories' sizes. Tuned on the ``ru_train`` pairs of
    ``make eval-trend``."""
    candidate_cosine: float = Field(default=0.5, ge=-1, le=1)
    """Embedding cosine below which a post and a story are not compared at all (a cheap
    blocking step; every same-story pair of the evaluation is well above it)."""
    term_bonus: float = Field(default=0.0, ge=0, le=1)
    """Credit per shared keyword/entity on top of the TF-IDF cosine (0: off)."""
    term_cap: int = Field(default=4, ge=0, le=50)
    signature_terms: int = Field(default=20, ge=1, le=200)
    profile_terms: int = Field(default=200, ge=10, le=10_000)
    """Stems a story's lexical profile keeps (the heaviest, trimmed at twice this many): on
    the replay, 200, 500 and no bound give the same stories; it bounds the stored state."""
    idf_cap: int = Field(default=100_000, ge=1000, le=10_000_000)
    """Stems whose document frequency each tenant keeps (memory and rows; the rarest go)."""
    story_ttl_s: int = Field(default=86_400, ge=600)
    max_members: int = Field(default=200, ge=1, le=10_000)

    bucket_s: int = Field(default=300, ge=60, le=3600)
    window_s: int = Field(default=3600, ge=300)
    baseline_s: int = Field(default=86_400, ge=3600)
    prior_events: float = Field(default=1.0, gt=0)
    prior_hours: float = Field(default=20.0, gt=0)
    p_value: float = Field(default=1e-3, gt=0, lt=1)
    min_channels: int = Field(default=3, ge=1, le=100)
    emerging_cooldown_s: int = Field(default=6 * 3600, ge=0)
    stable_min_posts: int = Field(default=10, ge=1)
    stable_min_channels: int = Field(default=5, ge=1)
    stable_min_hours: int = Field(default=4, ge=1, le=48)
    stable_min_age_s: int = Field(default=6 * 3600, ge=0)
    stable_recent_s: int = Field(default=2 * 3600, ge=300)
    stable_cooldown_s: int = Field(default=12 * 3600, ge=0)

    def story_params(self) -> StoryParams:
        """Clustering parameters."""
        return StoryParams(
            ttl_s=self.story_ttl_s,
            max_members=self.max_members,
            idf_cap=self.idf_cap,
            similarity=SimilarityParams(
                lexical_threshold=self.lexical_threshold,
                candidate_cosine=self.candidate_cosine,
                term_bonus=self.term_bonus,
                term_cap=self.term_cap,
                signature_terms=self.signature_terms,
                profile_terms=self.profile_terms,
            ),
        )

    def burst_params(self) -> BurstParams:
        """Window, test and trend-rule parameters."""
        return BurstParams(
            bucket_s=self.bucket_s,
            window_s=self.window_s,
            baseline_s=self.baseline_s,
            prior_events=self.prior_events,
            prior_hours=self.prior_hours,
            p_value=self.p_value,
            min_channels=self.min_channels,
            emerging_cooldown_s=self.emerging_cooldown_s,
            stable_min_posts=self.stable_min_posts,
            stable_min_channels=self.stable_min_channels,
            stable_min_hours=self.stable_min_hours,
            stable_min_age_s=self.stable_min_age_s,
            stable_recent_s=self.stable_recent_s,
            stable_cooldown_s=self.stable_cooldown_s,
        )
