"""The memory/status route: "what happened to my last digest?".

Reads the user's latest smart-path run from the runs table (trend runs when the question
names trends) and its timeline from episodic memory; memory being down only shortens the
answer.
"""

from __future__ import annotations

from services.router.domain import texts
from services.router.domain.model import Principal
from services.router.domain.text import content_stems
from services.router.ports import EpisodeReader, RunStore

_TREND_STEMS = frozenset({"тренд", "trend"})


class StatusReporter:
    """Answers status questions from the runs table and episodic memory."""

    def __init__(self, runs: RunStore, episodes: EpisodeReader | None) -> None:
        self._runs = runs
        self._episodes = episodes

    async def answer(self, principal: Principal, query: str, language: str) -> str:
        """A sentence or two about the user's latest run. Raises ``StoreUnavailable``."""
        kinds = ["trend"] if _TREND_STEMS & set(content_stems(query)) else ["digest", "trend"]
        latest = await self._runs.latest(principal.tenant_id, principal.user_id, kinds, 1)
        if not latest and kinds == ["trend"]:
            latest = await self._runs.latest(
                principal.tenant_id, principal.user_id, ["digest", "trend"], 1
            )
        run = latest[0] if latest else None
        episodes = None
        if run is not None and self._episodes is not None:
            timeline = await self._episodes.timeline(principal.tenant_id, run.run_id, limit=50)
            if timeline is not None:
                episodes = [(e.kind, e.service, e.occurred_at) for e in timeline]
        return texts.run_status(language, run, episodes)
