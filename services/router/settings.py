"""Settings of the router service (env prefix ``TGI_ROUTER_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PostgresDsn, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.llm import LLMSettingsFields
from servicekit.settings import ServiceSettings


class RouterSettings(ServiceSettings, LLMSettingsFields):
    """Everything the router service (gateway, fast path, Kafka query flow) reads.

    The LLM provider is configured by the shared ``llm_*`` fields (``TGI_ROUTER_LLM_PROVIDER``
    or ``TGI_LLM_PROVIDER``…, see ``servicekit.llm.settings``); offline by default.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_ROUTER_")
    service_name: ClassVar[str] = "router"
    default_http_port: ClassVar[int] = 8080

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)

    # -- authentication ----------------------------------------------------------------------
    jwt_secret: SecretStr | None = None
    """HS256 secret for JWTs (``tenant``, ``sub`` and ``exp`` claims); JWTs are refused
    when unset. At least 32 characters."""
    jwt_audience: str | None = None
    """When set, a JWT's ``aud`` must name it."""
    jwt_issuer: str | None = None
    """When set, a JWT's ``iss`` must equal it."""
    jwt_leeway_s: float = Field(default=30.0, ge=0, le=300)
    key_cache_ttl_s: float = Field(default=5.0, ge=0, le=300)
    """How long a looked-up API key is trusted without asking Postgres again (so a revoked
    key stops working within this many seconds on every replica)."""

    # -- limits -----------------------------------------------------------------------------
    max_body_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    """Larger request bodies are refused with 413."""
    rate_limit_per_s: float = Field(default=5.0, gt=0)
    """Requests per second a credential may sustain (token bucket refill rate)."""
    rate_limit_burst: int = Field(default=20, ge=1)
    """Bucket size: requests a credential may make at once after being idle."""
    rate_limit_max_keys: int = Field(default=100_000, ge=1)
    """Buckets kept in memory (least recently used ones are forgotten, i.e. refilled)."""

    # -- fast path --------------------------------------------------------------------------
    request_deadline_s: float = Field(default=8.0, gt=0, le=60)
    """The whole synchronous answer, routing and LLM included."""
    route_timeout_s: float = Field(default=1.0, gt=0, le=10)
    """Guard around the context router (which enforces its own 800 ms LLM deadline)."""
    retrieval_timeout_s: float = Field(default=5.0, gt=0, le=30)
    """Deadline of the retrieval round trip; under overload a slow answer beats a 503, and
    a request given up on would still cost retrieval its work."""
    retrieval_top_k: int = Field(default=8, ge=1, le=20)
    answer_docs: int = Field(default=5, ge=1, le=10)
    """Documents an answer is composed from (extractive sentences or LLM context)."""
    answer_min_sentences: int = Field(default=2, ge=1, le=10)
    answer_max_sentences: int = Field(default=4, ge=1, le=10)
    history_turns: int = Field(default=5, ge=0, le=50)
    history_window_h: float = Field(default=24.0, gt=0, le=720)
    turns_retention_h: float = Field(default=168.0, gt=0)
    """Conversation turns older than this are deleted (hourly)."""

    # -- per-request budget (a request may ask for less, never more) -------------------------
    budget_max_llm_calls: int = Field(default=3, ge=0, le=100)
    budget_max_tokens: int = Field(default=8000, ge=0, le=1_000_000)
    budget_max_agent_steps: int = Field(default=4, ge=1, le=50)

    # -- the answer's LLM call (provider settings: ``llm_*``, from LLMSettingsFields) ----------
    answer_timeout_s: float = Field(default=5.0, gt=0, le=60)
    """Deadline of the answer's LLM call (also cut by the request deadline)."""
    answer_max_tokens: int = Field(default=512, ge=16, le=8192)
    answer_temperature: float = Field(default=0.2, ge=0, le=2)
    answer_doc_chars: int = Field(default=700, ge=100, le=8192)
    """Characters of each document put into the prompt."""
    answer_history_chars: int = Field(default=500, ge=0, le=8192)
    """Characters of each earlier answer put into the prompt."""

    # -- other services ---------------------------------------------------------------------
    memory_url: str | None = "http://127.0.0.1:8084"
    """Episodic memory's read API (status questions); unset = runs table only."""
    memory_timeout_s: float = Field(default=0.3, gt=0, le=10)
    digest_url: str | None = "http://127.0.0.1:8082"
    """The digest service's HTTP API; ``/v1/runs/{id}/manifest`` is proxied there when set."""
    trend_timeout_s: float = Field(default=3.0, gt=0, le=60)
    digest_discovery_top_k: int = Field(default=20, ge=1, le=20)
    """Posts looked at to find the channels of a digest asked for without channels."""

    # -- diagnostics ------------------------------------------------------------------------
    timings_header: bool = True
    """Send ``Server-Timing`` with per-hop durations on answers."""

    @model_validator(mode="after")
    def _consistent(self) -> RouterSettings:
        if self.answer_min_sentences > self.answer_max_sentences:
            raise ValueError("answer_min_sentences must not exceed answer_max_sentences")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("jwt_secret must be at least 32 characters (HS256)")
        return self
