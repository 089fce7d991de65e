"""Deleting old conversation turns: only the last 24 h are ever read, a week is kept."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.router.errors import StoreUnavailable
from services.router.ports import TurnStore

_log = get_logger(__name__)


class TurnRetention:
    """Runs :meth:`once` at start-up and then every ``interval_s``."""

    def __init__(
        self, turns: TurnStore, clock: Clock, *, keep: timedelta, interval_s: float = 3600.0
    ) -> None:
        self._turns = turns
        self._clock = clock
        self._keep = keep
        self._interval_s = interval_s

    async def once(self) -> int:
        """Delete the turns older than ``keep``; returns how many."""
        removed = await self._turns.prune(self._clock.now() - self._keep)
        if removed:
            _log.info("turns_pruned", removed=removed)
        return removed

    async def loop(self) -> None:
        """Forever: prune, sleep. A store outage is logged and tried again next time."""
        while True:
            try:
                await self.once()
            except StoreUnavailable as exc:
                _log.warning("turn_retention_failed", error=str(exc)[:200])
            await asyncio.sleep(self._interval_s)
