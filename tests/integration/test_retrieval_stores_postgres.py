"""PostgresPosts against the real Postgres: the PostRepository behaviour suite, plus what only the
real table shows (migrations, band columns, rows left untouched by a re-run)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from servicekit.postgres import PostgresResource, migrate
from services.retrieval.adapters.postgres_posts import PostgresPosts
from services.retrieval.app import MIGRATIONS
from tests.helpers.retrieval_fakes import make_post
from tests.unit.retrieval.test_store_posts import HIGH, PostRepositoryBehaviour

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def db(pg_dsn: str) -> AsyncIterator[PostgresResource]:
    resource = PostgresResource(pg_dsn, schema="retrieval", migrations=MIGRATIONS)
    await resource.start()
    try:
        yield resource
    finally:
        await resource.close()


class TestPostgresPosts(PostRepositoryBehaviour):
    @pytest.fixture
    def repo(self, db: PostgresResource) -> PostgresPosts:
        return PostgresPosts(db)

    async def test_migrations_are_applied_once(self, db: PostgresResource) -> None:
        assert await migrate(db.pool, "retrieval", MIGRATIONS) == []
        versions = await db.pool.fetch("SELECT version FROM retrieval.schema_migrations")
        assert [r["version"] for r in versions] == sorted(p.stem for p in MIGRATIONS.glob("*.sql"))

    async def test_a_rerun_leaves_every_row_untouched(
        self, repo: PostgresPosts, tenant: str
    ) -> None:
        posts = [make_post(tenant, "c1", n, entities=["a"], views=n) for n in range(1, 301)]
        await repo.upsert(posts)
        await repo.mark_indexed([(tenant, p.post_id) for p in posts])
        versions = (
            "SELECT post_id, xmin::text AS x, indexed_at FROM retrieval.posts WHERE tenant_id = $1"
        )
        before = {r["post_id"]: tuple(r) for r in await repo._db.pool.fetch(versions, tenant)}
        assert all(row[2] is not None for row in before.values())
        assert set((await repo.upsert(posts)).values()) == {"unchanged"}
        after = {r["post_id"]: tuple(r) for r in await repo._db.pool.fetch(versions, tenant)}
        assert after == before

    async def test_simhash_bands_cover_all_64_bits(self, repo: PostgresPosts, tenant: str) -> None:
        post = make_post(tenant, "c1", 1, simhash=HIGH)
        await repo.upsert([post])
        row = await repo._db.pool.fetchrow(
            "SELECT simhash, simhash_b0, simhash_b1, simhash_b2, simhash_b3"
            " FROM retrieval.posts WHERE tenant_id = $1",
            tenant,
        )
        assert row is not None
        assert row["simhash"] < 0
        assert [row[f"simhash_b{n}"] for n in range(4)] == [
            (HIGH >> (16 * n)) & 0xFFFF for n in range(4)
        ]

    async def test_ping(self, repo: PostgresPosts) -> None:
        await repo.ping()
