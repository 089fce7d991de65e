"""Settings of the router service (env prefix ``TGI_ROUTER_``, shared ``TGI_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    """Everything the router service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_ROUTER_")
    service_name: ClassVar[str] = "router"
    default_http_port: ClassVar[int] = 8080
