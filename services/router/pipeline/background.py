"""Work the gateway finishes after answering (a trend run's report), tracked so that it is
neither garbage-collected mid-flight nor silently lost at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from servicekit.logging import get_logger

_log = get_logger(__name__)


class Background:
    """A set of tasks: :meth:`spawn` one, :meth:`drain` them all (tests, shutdown)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as a task; its failure is logged, never raised."""
        task = asyncio.get_running_loop().create_task(self._guard(name, work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the running tasks (at most ``timeout_s``), then cancel what is left."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in late:
            task.cancel()

    @staticmethod
    async def _guard(name: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            _log.exception("background_task_failed", task=name)
