"""Operator use cases behind the REST API: read, replay, park, purge, each one recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from contracts.envelope import new_event_id
from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.states import Action
from services.dlq.errors import ActionRefused, EntryNotFound
from services.dlq.metrics import DlqMetrics
from services.dlq.ports import (
    Entry,
    EntryQuery,
    EntrySummary,
    Episodes,
    OperatorStore,
    Skipped,
    Stats,
)

_log = get_logger(__name__)
NO_SUCH_ENTRY: Final = "no such entry"


@dataclass(frozen=True)
class ActionReport:
    """What an operator action did, and the episode it was recorded as."""

    action: Action
    run_id: str
    changed: list[EntrySummary]
    skipped: list[Skipped]
    episode_recorded: bool
    episode_errors: list[str] = field(default_factory=list)


class Operator:
    """Reads and actions for people. Every action that changes entries is recorded as a
    lifecycle ``run_completed`` in domain ``dlq-operator``, one per tenant whose entries it
    changed, all sharing the action's ``run_id``."""

    def __init__(
        self,
        store: OperatorStore,
        episodes: Episodes,
        metrics: DlqMetrics,
        *,
        policy: RetryPolicy,
        prefix: str,
        clock: Clock,
    ) -> None:
        self._store = store
        self._episodes = episodes
        self._metrics = metrics
        self._policy = policy
        self.prefix = prefix
        self._clock = clock

    async def list(self, query: EntryQuery) -> list[EntrySummary]:
        """Entries matching ``query``, newest first."""
        return await self._store.query(query)

    async def get(self, entry_id: str) -> Entry:
        """One entry with its bytes; raises :class:`EntryNotFound`."""
        entry = await self._store.get(entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        return entry

    async def stats(self) -> Stats:
        """Counts by topic and status."""
        return await self._store.stats(self.prefix)

    async def act_on_one(
        self, action: Action, entry_id: str, *, operator: str, reason: str
    ) -> ActionReport:
        """Apply ``action`` to one entry; raises :class:`EntryNotFound` or
        :class:`ActionRefused` when it does not apply."""
        report = await self.act(action, ids=[entry_id], operator=operator, reason=reason)
        if report.skipped:
            why = report.skipped[0].reason
            if why == NO_SUCH_ENTRY:
                raise EntryNotFound(entry_id)
            raise ActionRefused(entry_id, why)
        return report

    async def act(
        self,
        action: Action,
        *,
        ids: Sequence[str] | None = None,
        query: EntryQuery | None = None,
        operator: str,
        reason: str,
    ) -> ActionReport:
        """Apply ``action`` to ``ids`` or to what ``query`` matches (up to its limit).
        A replay gives a fresh attempt budget and is due at once."""
        if (ids is None) == (query is None):
            raise ValueError("give exactly one of ids and query")
        note = f"{action} by {operator}" + (f": {reason}" if reason else "")
        outcome = await self._store.apply(
            action,
            ids=ids,
            query=query,
            now=self._clock.now(),
            policy=self._policy,
            prefix=self.prefix,
            reason=note[:1000],
        )
        run_id = new_event_id()
        errors: list[str] = []
        by_tenant: dict[str, list[str]] = defaultdict(list)
        for entry in outcome.changed:
            by_tenant[entry.tenant_id].append(entry.id)
        for tenant, changed_ids in sorted(by_tenant.items()):
            try:
                await self._episodes.operator_action(
                    action=action,
                    run_id=run_id,
                    tenant_id=tenant,
                    operator=operator,
                    reason=reason,
                    ids=changed_ids,
                    skipped=len(outcome.skipped),
                )
            except Exception as exc:  # the change is committed; say the record is missing
                errors.append(repr(exc)[:200])
                _log.error("operator_episode_failed", run_id=run_id, error=repr(exc))
        if outcome.changed:
            self._metrics.operator_actions.labels(action=action).inc(len(outcome.changed))
        _log.info(
            "operator_action",
            action=action,
            run_id=run_id,
            operator=operator,
            changed=len(outcome.changed),
            skipped=len(outcome.skipped),
        )
        return ActionReport(
            action=action,
            run_id=run_id,
            changed=outcome.changed,
            skipped=outcome.skipped,
            episode_recorded=not errors,
            episode_errors=errors,
        )
