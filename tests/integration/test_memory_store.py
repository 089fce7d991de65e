"""The memory service's Postgres adapters: the store behaviour suite, partitions, plans."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from servicekit.postgres import PostgresResource
from services.memory.adapters.episodes import PostgresEpisodes, read_sql
from services.memory.adapters.partitions import PostgresPartitions
from services.memory.app import MIGRATIONS
from services.memory.domain.episode import Cursor, EpisodeFilter
from services.memory.domain.partitions import Month
from services.memory.errors import EpisodeRefused
from tests.unit.memory.factories import episode, spread
from tests.unit.memory.store_behaviour import EpisodeStoreBehaviour
from tools.scratch import scratch_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def db(infra: dict[str, str]) -> AsyncIterator[PostgresResource]:
    async with scratch_database(infra["TGI_POSTGRES_DSN"], "memstore") as dsn:
        resource = PostgresResource(dsn, schema="memory", migrations=MIGRATIONS)
        await resource.start()
        try:
            yield resource
        finally:
            await resource.close()


@pytest.fixture
def tenant() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


class TestPostgresEpisodeStore(EpisodeStoreBehaviour):
    @pytest.fixture
    def store(self, db: PostgresResource) -> PostgresEpisodes:
        return PostgresEpisodes(db)


async def _tables(db: PostgresResource, tenant: str) -> dict[str, int]:
    rows = await db.pool.fetch(
        "SELECT tableoid::regclass::text AS t, count(*) AS n FROM memory.episodes"
        " WHERE tenant_id = $1 GROUP BY 1",
        tenant,
    )
    return {r["t"]: r["n"] for r in rows}


async def test_rows_land_in_their_month_and_outliers_in_the_default(
    db: PostgresResource, tenant: str
) -> None:
    parts = PostgresPartitions(db)
    await parts.create(Month(2030, 5))
    store = PostgresEpisodes(db)
    await store.add(
        [
            episode(tenant=tenant, at=datetime(2030, 5, 31, 23, 59, tzinfo=UTC)),
            episode(tenant=tenant, at=datetime(2030, 5, 1, tzinfo=UTC)),
            episode(tenant=tenant, at=datetime(2030, 6, 1, tzinfo=UTC)),
        ]
    )
    assert await _tables(db, tenant) == {
        "memory.episodes_p203005": 2,
        "memory.episodes_default": 1,
    }


async def test_creating_a_partition_moves_its_rows_and_keeps_idempotency(
    db: PostgresResource, tenant: str
) -> None:
    store, parts = PostgresEpisodes(db), PostgresPartitions(db)
    early = [episode(tenant=tenant, at=datetime(2031, 2, d, tzinfo=UTC)) for d in (1, 14, 28)]
    assert len(await store.add(early)) == 3
    assert await _tables(db, tenant) == {"memory.episodes_default": 3}
    assert await parts.create(Month(2031, 2)) == 3
    assert await parts.create(Month(2031, 2)) == 0  # exists: a no-op
    assert await _tables(db, tenant) == {"memory.episodes_p203102": 3}
    # A redelivery after the move routes to the new partition and is still a duplicate.
    assert await store.add(early) == []
    assert Month(2031, 2) in await parts.months()


async def test_data_the_table_refuses_is_episode_refused(db: PostgresResource, tenant: str) -> None:
    store = PostgresEpisodes(db)
    # Valid by the contract (compact JSON ~200 bytes) but ~9 KB in jsonb's text form.
    huge = episode(tenant=tenant, details={"n": [1e300] * 30})
    with pytest.raises(EpisodeRefused, match="episodes_details_size"):
        await store.add([huge, episode(tenant=tenant)])
    assert await _tables(db, tenant) == {}  # the statement is atomic


@pytest.mark.parametrize(
    "query",
    [
        EpisodeFilter(tenant_id="t", limit=101),
        EpisodeFilter(
            tenant_id="t",
            limit=101,
            after=Cursor(datetime(2030, 5, 2, tzinfo=UTC), str(uuid.UUID(int=5))),
        ),
        EpisodeFilter(tenant_id="t", run_id="r", order="oldest", limit=1001),
        EpisodeFilter(
            tenant_id="t",
            run_id="r",
            order="oldest",
            limit=1001,
            after=Cursor(datetime(2030, 5, 2, tzinfo=UTC), str(uuid.UUID(int=5))),
        ),
    ],
    ids=["latest", "latest-next-page", "timeline", "timeline-next-page"],
)
async def test_read_shapes_are_served_in_index_order(
    db: PostgresResource, query: EpisodeFilter
) -> None:
    """The query shapes match an index: no Sort node, only index scans, cursor as an index
    condition. (Forcing seq scans off shows the shape is usable; the benchmark shows the
    planner choosing it at a million rows.)"""
    await PostgresEpisodes(db).add(
        spread(200, tenant="t", start=datetime(2030, 5, 1, tzinfo=UTC), step=timedelta(hours=1))
    )
    sql, args = read_sql(query)
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert "episodes_p203005_tenant_id" in plan, plan
    if query.after is not None:
        assert "ROW(occurred_at, event_id)" in plan, plan
