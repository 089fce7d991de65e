"""Text analysis on several cores: NER and lemmatisation are CPU-bound Python, so a batch is
split across worker processes (each loads the models once) instead of one thread."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from services.retrieval.domain.model import Analysis
from services.retrieval.domain.text.analyze import analyze_batch

#: Below this many texts a batch is analysed in one piece: splitting costs more than it saves.
MIN_SPLIT = 32


def _warm() -> None:
    analyze_batch(["Москва, 3 декабря. Сбербанк повысил ставки.", "Apple in London."])


class AnalyzerPool:
    """``analyze(texts)`` in ``workers`` processes (0: in a thread of this process)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers and load their models (idempotent)."""
        if self._workers > 0 and self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
            )

    async def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """The analysis of each text, in order."""
        if self._pool is None or len(texts) < MIN_SPLIT:
            return await asyncio.to_thread(analyze_batch, list(texts))
        loop = asyncio.get_running_loop()
        size = -(-len(texts) // self._workers)
        chunks = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
        parts = await asyncio.gather(
            *(loop.run_in_executor(self._pool, analyze_batch, chunk) for chunk in chunks)
        )
        return [analysis for part in parts for analysis in part]

    async def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
