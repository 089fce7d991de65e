"""Running a service process: settings from the environment, logging, uvicorn, clean exits."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn

from servicekit.app import ServiceApp
from servicekit.errors import ConfigError
from servicekit.logging import configure_logging
from servicekit.settings import ServiceSettings, load_settings

S = TypeVar("S", bound=ServiceSettings)


def run(settings_cls: type[S], build_app: Callable[[S], ServiceApp]) -> None:
    """Entry point of every ``python -m services.<name>``: exits 2 on bad configuration."""
    try:
        settings = load_settings(settings_cls)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_json, service=settings.service_name)
    app = build_app(settings)
    config = uvicorn.Config(
        app.http,
        host=settings.http_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
    uvicorn.Server(config).run()
