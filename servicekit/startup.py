"""Waiting for dependencies at start-up: bounded, and saying what it waits for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from servicekit.errors import DependencyUnavailable
from servicekit.logging import get_logger

_log = get_logger(__name__)


async def wait_for(
    name: str,
    check: Callable[[], Awaitable[object]],
    *,
    timeout_s: float,
    where: str = "",
    first_delay_s: float = 0.2,
    max_delay_s: float = 5.0,
) -> None:
    """Call ``check`` until it succeeds, backing off exponentially, for at most ``timeout_s``.

    Logs ``waiting_for_dependency`` with the last error on every failed attempt and raises
    :class:`DependencyUnavailable` naming the dependency when the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    delay = first_delay_s
    attempt = 0
    while True:
        attempt += 1
        try:
            await check()
        except Exception as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DependencyUnavailable(
                    f"{name} at {where or '?'} not ready after {timeout_s:.0f} s: {exc!r}"
                ) from exc
            _log.info(
                "waiting_for_dependency",
                dependency=name,
                where=where,
                attempt=attempt,
                error=repr(exc)[:200],
            )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay_s)
        else:
            if attempt > 1:
                _log.info("dependency_ready", dependency=name, where=where, attempts=attempt)
            return
