"""Composition root of the router service."""

from __future__ import annotations

from typing import Any

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from services.router.handlers import queries_requested
from services.router.settings import RouterSettings


def build_app(
    settings: RouterSettings, deps: Any = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the router service: handlers, hooks, readiness checks; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    kit.consume("queries.requested.v1", queries_requested.make_handler(kit.lifecycle))
    return kit.build(deps=deps)
