"""One frozen settings class per service, read from the environment.

Every field ``foo`` of a service whose prefix is ``TGI_MEMORY_`` is read from
``TGI_MEMORY_FOO`` first and from the shared ``TGI_FOO`` second, so operators set the Kafka
address once for all services and override per service only where needed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from servicekit.auth import MIN_TOKEN_CHARS, split_tokens
from servicekit.errors import ConfigError

SHARED_PREFIX = "TGI_"
_PLACEHOLDER = re.compile(r"^(changeme|change-me|secret|password|placeholder|xxx+)$", re.I)

S = TypeVar("S", bound="ServiceSettings")


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``model_config`` with their env prefix."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_SERVICE_")
    service_name: ClassVar[str] = "service"
    default_http_port: ClassVar[int] = 8000

    env: Literal["dev", "test", "prod"] = "dev"
    version: str = "0.1.0"
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_linger_ms: int = Field(default=0, ge=0, le=1000)
    kafka_create_topics: bool = True
    """Create missing registry topics at start (replication 1: dev and tests); turn off where
    topics are provisioned (the Helm topics job). The instance's reply topic is always made."""
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    consumer_group: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = None
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    handler_retries: int = Field(default=3, ge=0, le=10)
    handler_retry_base_s: float = Field(default=0.2, ge=0.0)
    dlq_limit_count: int = Field(default=100, ge=1)
    dlq_limit_window_s: float = Field(default=60.0, gt=0)
    dlq_pause_s: float = Field(default=300.0, ge=0)
    startup_timeout_s: float = Field(default=60.0, gt=0)
    instance_id: str | None = None
    internal_token: SecretStr | None = None
    """The bearer token our services present to each other's internal APIs and accept on
    them (memory, digest manifests, DLQ); one value per deployment (``TGI_INTERNAL_TOKEN``).
    Without it the internal APIs refuse every request."""
    api_tokens: SecretStr | None = None
    """More bearer tokens this service's internal API accepts, comma-separated: operators'
    tokens for the DLQ, or the next internal token during a rotation."""

    @model_validator(mode="after")
    def _strong_tokens(self) -> ServiceSettings:
        for token in split_tokens(self.internal_token, self.api_tokens):
            if len(token) < MIN_TOKEN_CHARS:
                raise ValueError(
                    f"internal_token and api_tokens need at least {MIN_TOKEN_CHARS} characters"
                )
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> ServiceSettings:
        if self.env == "dev":
            return self
        for name, value in self:
            if isinstance(value, SecretStr) and _PLACEHOLDER.match(value.get_secret_value()):
                raise ValueError(f"{name} holds a placeholder secret; set a real one")
        return self

    @property
    def group_id(self) -> str:
        """The Kafka consumer group: the service name unless overridden, with the topic prefix."""
        return self.topic_prefix + (self.consumer_group or self.service_name)

    @property
    def port(self) -> int:
        """The HTTP port: ``http_port`` if set, else the service's default."""
        return self.default_http_port if self.http_port is None else self.http_port

    def topic(self, name: str) -> str:
        """The physical Kafka topic for a logical topic name (``posts.ingested.v1``)."""
        return self.topic_prefix + name

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix=SHARED_PREFIX)
        return (init_settings, env_settings, shared, file_secret_settings)


def env_names(cls: type[ServiceSettings], field: str) -> list[str]:
    """The environment variables that can set ``field``, most specific first."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [f"{prefix}{field}".upper(), f"{SHARED_PREFIX}{field}".upper()]


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment (and ``overrides``), or raise :class:`ConfigError`.

    The error names each missing or invalid value by its environment variables, e.g.
    ``missing required setting postgres_dsn (set TGI_MEMORY_POSTGRES_DSN or TGI_POSTGRES_DSN)``.
    """
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            where = " or ".join(env_names(cls, field)) if field else "the settings"
            if err["type"] == "missing":
                problems.append(f"missing required setting {field} (set {where})")
            else:
                problems.append(f"invalid setting {field or '<model>'} ({where}): {err['msg']}")
        raise ConfigError(f"{cls.__name__}: " + "; ".join(problems)) from None
