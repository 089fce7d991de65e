"""Settings of the retrieval service (env prefix ``TGI_RETRIEVAL_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PostgresDsn, SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class RetrievalSettings(ServiceSettings):
    """Everything the retrieval service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_RETRIEVAL_")
    service_name: ClassVar[str] = "retrieval"
    default_http_port: ClassVar[int] = 8081

    postgres_dsn: PostgresDsn
    postgres_pool_size: int = Field(default=10, ge=1, le=100)

    # Vector store: a Qdrant server when qdrant_url is set, else Qdrant Edge in-process.
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_edge_path: str = ".state/retrieval/qdrant-edge"
    # Qdrant Edge does not optimise by itself: build the index once this many points were
    # written and writing paused this long (0 points: never). A server optimises on its own.
    edge_optimize_min_points: int = Field(default=5000, ge=0)
    edge_optimize_quiet_s: float = Field(default=5.0, ge=0.0, le=3600)

    neo4j_uri: str = "bolt://127.0.0.1:17687"
    neo4j_user: str | None = None
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None

    embedder: Literal["offline", "openai", "gigachat"] = "offline"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str = "text-embedding-3-small"
    openai_dim: int = Field(default=1536, ge=1, le=4096)
    gigachat_credentials: SecretStr | None = None
    gigachat_model: str = "Embeddings"
    gigachat_scope: str = "GIGACHAT_API_PERS"
    gigachat_dim: int = Field(default=1024, ge=1, le=4096)

    analysis_workers: int = Field(default=2, ge=0, le=32)
    """Processes for text analysis (NER, lemmas); 0 analyses in a thread of the service."""
    index_batch_max: int = Field(default=256, ge=1, le=5000)
    index_batch_timeout_ms: int = Field(default=100, ge=1, le=10_000)
    index_chunk: int = Field(default=64, ge=1, le=5000)
    """Posts per pipeline chunk: one chunk is analysed while the previous one is written."""
    search_batch_max: int = Field(default=32, ge=1, le=500)
    search_batch_timeout_ms: int = Field(default=5, ge=1, le=1000)
    # Polls of requests answered at once: a request arriving while one poll is searched is
    # taken by the next poll instead of waiting for it (offsets still committed in order).
    search_in_flight: int = Field(default=4, ge=1, le=64)

    cache_size: int = Field(default=10_000, ge=1)
    cache_ttl_s: float = Field(default=3600.0, gt=0)
    # Fusion defaults measured by `make eval-retrieval` (see tools/eval_retrieval.py).
    rrf_k: int = Field(default=2, ge=1)
    dense_weight: float = Field(default=0.1, ge=0)
    sparse_weight: float = Field(default=1.0, ge=0)
    graph_weight: float = Field(default=0.3, ge=0)
    candidates: int = Field(default=100, ge=1, le=1000)
    leg_timeout_s: float = Field(default=2.0, gt=0)
