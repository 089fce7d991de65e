"""The PostRepository behaviour suite, run here against the fake and in
``tests/integration/test_retrieval_stores_postgres.py`` against Postgres.

A subclass provides a ``repo`` fixture; ``tenant`` is unique to each test.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.retrieval.domain.model import Post
from services.retrieval.ports import PostRepository
from tests.helpers.retrieval_fakes import FakePostRepository, make_post

pytestmark = pytest.mark.unit

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
HIGH = 0xF0F0_0000_FFFF_1234  # above 2**63: stored as a negative bigint


async def indexed(repo: PostRepository, posts: list[Post]) -> dict[str, str]:
    """Upsert and mark indexed, as the indexer does once every store has the posts."""
    status = await repo.upsert(posts)
    await repo.mark_indexed([(p.tenant_id, p.post_id) for p in posts])
    return status


class PostRepositoryBehaviour:
    @pytest.fixture
    def tenant(self) -> str:
        return f"t{uuid.uuid4().hex[:12]}"

    async def test_a_rerun_changes_nothing(self, repo: PostRepository, tenant: str) -> None:
        posts = [
            make_post(tenant, "c1", n, text=f"текст {n}", entities=["москва"], simhash=n)
            for n in range(1, 6)
        ]
        assert set((await indexed(repo, posts)).values()) == {"new"}
        assert set((await repo.upsert(posts)).values()) == {"unchanged"}
        assert await repo.get(tenant, [p.post_id for p in posts]) == posts

    async def test_posts_not_marked_indexed_are_written_again(
        self, repo: PostRepository, tenant: str
    ) -> None:
        posts = [make_post(tenant, "c1", n) for n in (1, 2, 3)]
        assert set((await repo.upsert(posts)).values()) == {"new"}
        # The batch failed before every store had it: the redelivery must write it again.
        assert set((await repo.upsert(posts)).values()) == {"updated"}
        await repo.mark_indexed([(tenant, posts[0].post_id), (f"{tenant}x", posts[1].post_id)])
        assert await repo.upsert(posts) == {
            posts[0].post_id: "unchanged",
            posts[1].post_id: "updated",
            posts[2].post_id: "updated",
        }
        await repo.mark_indexed([])

    async def test_a_content_change_needs_indexing_again(
        self, repo: PostRepository, tenant: str
    ) -> None:
        post = make_post(tenant, "c1", 1, text="v1")
        await indexed(repo, [post])
        edited = replace(make_post(tenant, "c1", 1, text="v2"), edit_date=T0)
        assert await repo.upsert([edited]) == {post.post_id: "updated"}
        assert await repo.upsert([edited]) == {post.post_id: "updated"}
        await repo.mark_indexed([(tenant, post.post_id)])
        assert await repo.upsert([edited]) == {post.post_id: "unchanged"}

    async def test_everything_round_trips(self, repo: PostRepository, tenant: str) -> None:
        post = make_post(
            tenant,
            "c1",
            7,
            text="Полный пост",
            chat_kind="group",
            entities=["путин", "кремль"],
            simhash=HIGH,
            edit_date=T0,
            author_id="user1",
            author_name="Иван",
            reply_to_message_id=3,
            forwarded_from="другой канал",
            views=10,
            forwards=2,
            permalink="https://t.me/c1/7",
            duplicate_of=f"{tenant}:c1:1",
        )
        post = replace(post, analysis=replace(post.analysis, keywords=("пост", "полный")))
        await repo.upsert([post])
        assert await repo.get(tenant, [post.post_id]) == [post]

    async def test_a_later_edit_updates_and_an_older_one_is_ignored(
        self, repo: PostRepository, tenant: str
    ) -> None:
        original = make_post(tenant, "c1", 1, text="v1")
        edited = replace(make_post(tenant, "c1", 1, text="v2"), edit_date=T0)
        stale = replace(make_post(tenant, "c1", 1, text="v0"), edit_date=T0 - timedelta(hours=1))
        await indexed(repo, [original])
        assert await repo.upsert([edited]) == {edited.post_id: "updated"}
        # Stale versions are refused, indexed or not: writing them to the stores would roll back.
        assert await repo.upsert([stale]) == {edited.post_id: "unchanged"}
        assert await repo.upsert([original]) == {edited.post_id: "unchanged"}
        [stored] = await repo.get(tenant, [edited.post_id])
        assert stored.text == "v2"

    async def test_new_analysis_of_the_same_message_is_an_update(
        self, repo: PostRepository, tenant: str
    ) -> None:
        post = make_post(tenant, "c1", 1, text="Москва", entities=[])
        await indexed(repo, [post])
        better = make_post(tenant, "c1", 1, text="Москва", entities=["москва"])
        assert await repo.upsert([better]) == {post.post_id: "updated"}

    async def test_counters_refresh_without_counting_as_a_change(
        self, repo: PostRepository, tenant: str
    ) -> None:
        post = make_post(tenant, "c1", 1, views=10)
        await indexed(repo, [post])
        assert await repo.upsert([replace(post, views=25)]) == {post.post_id: "unchanged"}
        [stored] = await repo.get(tenant, [post.post_id])
        assert stored.views == 25

    async def test_a_batch_naming_a_post_twice_keeps_the_newest_edit(
        self, repo: PostRepository, tenant: str
    ) -> None:
        newer = replace(make_post(tenant, "c1", 1, text="new"), edit_date=T0)
        older = make_post(tenant, "c1", 1, text="old")
        assert await repo.upsert([newer, older]) == {newer.post_id: "new"}
        [stored] = await repo.get(tenant, [newer.post_id])
        assert stored.text == "new"

    async def test_delete_reports_what_existed_and_stays_in_its_tenant(
        self, repo: PostRepository, tenant: str
    ) -> None:
        posts = [make_post(tenant, "c1", n) for n in (1, 2, 3)]
        await indexed(repo, posts)
        assert await repo.delete(f"{tenant}x", "c1", [1, 2]) == []
        assert sorted(await repo.delete(tenant, "c1", [1, 2, 99])) == sorted(
            [posts[0].post_id, posts[1].post_id]
        )
        assert await repo.delete(tenant, "c1", [1]) == []
        assert await repo.delete(tenant, "c1", []) == []
        ids = [p.post_id for p in posts]
        assert await repo.get(tenant, ids) == [posts[2]]
        assert await repo.upsert([posts[0]]) == {posts[0].post_id: "new"}

    async def test_get_keeps_the_order_asked_and_the_tenant(
        self, repo: PostRepository, tenant: str
    ) -> None:
        mine = [make_post(tenant, "c1", n) for n in (1, 2)]
        theirs = make_post(f"{tenant}x", "c1", 1)
        await repo.upsert([*mine, theirs])
        asked = [mine[1].post_id, theirs.post_id, "nope", mine[0].post_id, mine[1].post_id]
        assert await repo.get(tenant, asked) == [mine[1], mine[0]]
        assert await repo.get(tenant, []) == []

    async def test_near_duplicates_are_found_among_the_tenants_earlier_posts(
        self, repo: PostRepository, tenant: str
    ) -> None:
        base = 0x0123_4567_89AB_CDEF
        # Stored first although dated later: "earlier" is storage order, so re-runs agree.
        first = make_post(tenant, "c2", 9, simhash=base ^ 0b1, date=T0 + timedelta(days=1))
        second = make_post(tenant, "c1", 1, simhash=base, date=T0)
        high = make_post(tenant, "c1", 2, simhash=HIGH, date=T0)
        foreign = make_post(f"{tenant}x", "c1", 1, simhash=0x7777_7777_7777_7777, date=T0)
        await repo.upsert([first, foreign])
        await repo.upsert([second, high])
        # Three bits off, one in each of three bands: found through the fourth band.
        three_off = base ^ (1 << 5) ^ (1 << 20) ^ (1 << 40)
        four_off = three_off ^ (1 << 60)
        found = await repo.find_near_duplicates(
            tenant,
            [base, three_off, four_off, HIGH ^ 0b11, 0x7777_7777_7777_7777],
            max_distance=3,
        )
        assert found == {
            base: first.post_id,  # one bit from `first`, zero from `second`: first stored wins
            three_off: second.post_id,  # four bits from `first`
            HIGH ^ 0b11: high.post_id,
        }
        assert await repo.find_near_duplicates(tenant, [base], max_distance=0) == {
            base: second.post_id
        }
        await indexed(repo, [first, second])  # re-running changes nothing
        assert await repo.find_near_duplicates(tenant, [base], max_distance=1) == {
            base: first.post_id
        }
        assert await repo.find_near_duplicates(tenant, [], max_distance=3) == {}

    async def test_an_empty_tenant_is_refused(self, repo: PostRepository) -> None:
        with pytest.raises(ValueError, match="tenant"):
            await repo.upsert([make_post("", "c1", 1)])


class TestFakePostRepository(PostRepositoryBehaviour):
    @pytest.fixture
    def repo(self) -> PostRepository:
        return FakePostRepository()
