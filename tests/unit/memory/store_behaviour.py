"""One behaviour suite for :class:`~services.memory.ports.EpisodeStore`, run against the fake
(unit tier) and against Postgres (integration tier). Subclasses provide ``store`` and
``tenant`` fixtures (a tenant unique to the test, so a shared table is no problem)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from services.memory.domain.episode import Cursor, EpisodeFilter
from services.memory.ports import EpisodeStore
from tests.unit.memory.factories import T0, episode, spread


async def _all_pages(
    store: EpisodeStore, base: EpisodeFilter, page: int
) -> list[tuple[str, datetime]]:
    seen: list[tuple[str, datetime]] = []
    after: Cursor | None = None
    while True:
        rows = await store.find(replace(base, after=after, limit=page))
        seen.extend((r.event_id, r.occurred_at) for r in rows)
        if len(rows) < page:
            return seen
        after = Cursor(rows[-1].occurred_at, rows[-1].event_id)


class EpisodeStoreBehaviour:
    """The contract of an episode store."""

    async def test_add_is_idempotent_per_event(self, store: EpisodeStore, tenant: str) -> None:
        a, b = episode(tenant=tenant), episode(tenant=tenant, kind="run_completed")
        assert {e.event_id for e in await store.add([a, b, a])} == {a.event_id, b.event_id}
        assert await store.add([a, b]) == []
        assert await store.add([]) == []
        rows = await store.find(EpisodeFilter(tenant_id=tenant))
        assert sorted(r.event_id for r in rows) == sorted([a.event_id, b.event_id])

    async def test_round_trip_keeps_every_field(self, store: EpisodeStore, tenant: str) -> None:
        e = episode(
            tenant=tenant,
            kind="quality_low",
            user_id="u-7",
            details={"score": 0.42, "reasons": ["short", "no citations"], "nested": {"a": None}},
        )
        await store.add([e])
        (row,) = await store.find(EpisodeFilter(tenant_id=tenant))
        assert (row.event_id, row.run_id, row.kind, row.service, row.domain, row.user_id) == (
            e.event_id,
            e.run_id,
            "quality_low",
            e.service,
            e.domain,
            "u-7",
        )
        assert dict(row.details) == dict(e.details)
        assert row.occurred_at == e.occurred_at
        assert row.recorded_at.tzinfo is not None

    async def test_newest_first_with_ties_broken_by_event_id(
        self, store: EpisodeStore, tenant: str
    ) -> None:
        same = [episode(tenant=tenant, at=T0) for _ in range(3)]
        later = episode(tenant=tenant, at=T0 + timedelta(seconds=1))
        await store.add([*same, later])
        rows = await store.find(EpisodeFilter(tenant_id=tenant))
        expected = [later.event_id, *sorted((e.event_id for e in same), reverse=True)]
        assert [r.event_id for r in rows] == expected
        oldest = await store.find(EpisodeFilter(tenant_id=tenant, order="oldest"))
        assert [r.event_id for r in oldest] == expected[::-1]

    async def test_filters(self, store: EpisodeStore, tenant: str) -> None:
        rows = spread(40, tenant=tenant)
        await store.add(rows)

        async def ids(**kw: object) -> set[str]:
            found = await store.find(EpisodeFilter(tenant_id=tenant, limit=1000, **kw))  # type: ignore[arg-type]
            return {r.event_id for r in found}

        assert await ids(run_id="run-3") == {e.event_id for e in rows if e.run_id == "run-3"}
        assert await ids(kind="retry") == {e.event_id for e in rows if e.kind == "retry"}
        assert await ids(service="router") == {e.event_id for e in rows if e.service == "router"}
        since, until = rows[10].occurred_at, rows[20].occurred_at
        assert await ids(since=since, until=until) == {e.event_id for e in rows[10:20]}
        assert await ids(kind="retry", run_id="run-2") == {rows[9].event_id}
        assert await ids(run_id="no-such-run") == set()

    async def test_limit_holds(self, store: EpisodeStore, tenant: str) -> None:
        await store.add(spread(30, tenant=tenant))
        assert len(await store.find(EpisodeFilter(tenant_id=tenant, limit=7))) == 7

    async def test_keyset_pages_return_every_row_exactly_once(
        self, store: EpisodeStore, tenant: str
    ) -> None:
        rows = spread(57, tenant=tenant, step=timedelta(seconds=30))
        # Ties on occurred_at across page boundaries are the hard case for keyset paging.
        rows += [episode(tenant=tenant, at=rows[13].occurred_at) for _ in range(5)]
        random.Random(3).shuffle(rows)
        await store.add(rows)
        for order in ("newest", "oldest"):
            pages = await _all_pages(store, EpisodeFilter(tenant_id=tenant, order=order), 8)
            assert len(pages) == len(rows)
            assert {p[0] for p in pages} == {e.event_id for e in rows}
            keys = [(at, eid) for eid, at in pages]
            assert keys == sorted(keys, reverse=order == "newest")

    async def test_tenant_never_sees_another_tenants_episodes(
        self, store: EpisodeStore, tenant: str
    ) -> None:
        other = tenant + "-b"
        mine = spread(5, tenant=tenant)
        theirs = spread(5, tenant=other)
        await store.add([*mine, *theirs])
        got = await store.find(EpisodeFilter(tenant_id=tenant, limit=1000))
        assert {r.event_id for r in got} == {e.event_id for e in mine}
        assert {r.tenant_id for r in got} == {tenant}
        # Same run id in both tenants: a timeline is still per tenant.
        run = await store.find(EpisodeFilter(tenant_id=other, run_id="run-0", order="oldest"))
        assert {r.event_id for r in run} == {e.event_id for e in theirs[:4]}
