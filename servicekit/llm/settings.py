"""LLM settings, and how a service reads them from its environment.

A service adds :class:`LLMSettingsFields` to its settings class::

    class RouterSettings(ServiceSettings, LLMSettingsFields):
        model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_ROUTER_")

and builds its client with ``build_llm(settings.llm_settings())``. Every field of
:class:`LLMSettings` is then read as ``llm_<field>``, i.e. from ``TGI_ROUTER_LLM_PROVIDER``
first and the shared ``TGI_LLM_PROVIDER`` second (``TGI_LLM_OPENAI_BASE_URL``,
``TGI_LLM_GIGACHAT_CREDENTIALS``…), so one provider can serve all services. Flat fields, not
a nested model, keep those names plain and let ``ServiceSettings`` refuse placeholder secrets.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

ProviderName = Literal["offline", "openai", "gigachat", "scripted"]


class LLMSettings(BaseModel):
    """Which provider, how to reach it, and the resilience knobs.

    - ``provider``: ``offline`` (default: no model, callers use their extractive or rule-based
      path), ``openai`` (any OpenAI-compatible endpoint; needs ``openai_base_url``) or
      ``gigachat`` (needs ``gigachat_credentials``, the base64 authorization key); ``scripted``
      answers after ``scripted_latency_ms`` without a model (benchmarks only).
    - ``timeout_s``: the most any one call may take, whatever deadline its caller asks for.
    - ``retries``: extra attempts after a transient failure, ``retry_backoff_s`` apart at first.
    - ``breaker_failures`` consecutive failures open the circuit for ``breaker_reset_s``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderName = "offline"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_json_response_format: bool = True
    gigachat_credentials: SecretStr | None = None
    gigachat_model: str = "GigaChat"
    gigachat_scope: str = "GIGACHAT_API_PERS"
    gigachat_base_url: str | None = None
    gigachat_auth_url: str | None = None
    gigachat_verify_ssl: bool = True
    gigachat_ca_bundle: str | None = None
    scripted_latency_ms: int = Field(default=0, ge=0, le=600_000)
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.2, ge=0, le=60)
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    breaker_reset_s: float = Field(default=30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _provider_is_configured(self) -> Self:
        if self.provider == "openai" and not self.openai_base_url:
            raise ValueError("provider openai needs openai_base_url")
        if self.provider == "gigachat" and self.gigachat_credentials is None:
            raise ValueError("provider gigachat needs gigachat_credentials")
        return self


class LLMSettingsFields(BaseModel):
    """The fields of :class:`LLMSettings` with an ``llm_`` prefix, for a service's settings
    class (see the module docstring). Validated together with the service's settings."""

    llm_provider: ProviderName = "offline"
    llm_openai_base_url: str | None = None
    llm_openai_api_key: SecretStr | None = None
    llm_openai_model: str = "gpt-4o-mini"
    llm_openai_json_response_format: bool = True
    llm_gigachat_credentials: SecretStr | None = None
    llm_gigachat_model: str = "GigaChat"
    llm_gigachat_scope: str = "GIGACHAT_API_PERS"
    llm_gigachat_base_url: str | None = None
    llm_gigachat_auth_url: str | None = None
    llm_gigachat_verify_ssl: bool = True
    llm_gigachat_ca_bundle: str | None = None
    llm_scripted_latency_ms: int = Field(default=0, ge=0, le=600_000)
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600)
    llm_retries: int = Field(default=2, ge=0, le=10)
    llm_retry_backoff_s: float = Field(default=0.2, ge=0, le=60)
    llm_breaker_failures: int = Field(default=5, ge=1, le=1000)
    llm_breaker_reset_s: float = Field(default=30.0, gt=0, le=3600)

    def llm_settings(self) -> LLMSettings:
        """These fields as :class:`LLMSettings`."""
        return LLMSettings(
            **{name: getattr(self, f"llm_{name}") for name in LLMSettings.model_fields}
        )

    @model_validator(mode="after")
    def _llm_provider_is_configured(self) -> Self:
        try:
            self.llm_settings()
        except ValidationError as exc:
            raise ValueError("; ".join(err["msg"] for err in exc.errors())) from None
        return self
