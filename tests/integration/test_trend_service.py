"""The trend service on real Kafka and Postgres, fed the replay of the shipped
2024-11-26..12-04 window as ``posts.indexed.v1`` (built with the retrieval service's own
analyzer and embedder, exactly what it would publish).

- the replay gives trends that each have >= 3 distinct channels and citations that resolve
  to posts of the replay, and replaying it again (another tenant, another topic prefix) gives
  the same trends; a ``trend.requested.v1`` with reply-to is answered with one list, empty
  for a tenant with nothing trending;
- a service stopped half-way and restarted on the same database continues from its stored
  clusters (with the days and people they name), counters and document frequencies and
  announces what an uninterrupted run announces, while redelivered posts are counted once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.v1.posts import PostIndexed
from contracts.v1.trend import ReportTrends, TrendsReported
from servicekit.app import ServiceKit
from servicekit.settings import load_settings
from services.trend.app import build_app
from services.trend.settings import TrendSettings
from tests.helpers.kafka import eventually, read_topic
from tests.helpers.kit import probe_settings, running
from tools.bench_trend import publish_replay
from tools.eval_trend import build_replay

pytestmark = pytest.mark.integration
IDLE_S = 15.0
"""The default: a partition paused longer than this (a rebalance, a starved fetch on a busy
machine) would let later posts of other partitions go first and change the trends."""


@pytest.fixture(scope="session")
def replay_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The replay built once per session (NER of ~5 400 posts), kept in a tmp file."""
    path = tmp_path_factory.mktemp("trend") / "replay.json"
    build_replay("cache", path)
    return path


def _settings(bootstrap: str, prefix: str, dsn: str) -> TrendSettings:
    return load_settings(
        TrendSettings,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        postgres_dsn=dsn,
        idle_partition_s=IDLE_S,
        startup_timeout_s=60,
        log_level="WARNING",
    )


async def _processed(dsn: str, tenant: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM trend.story_posts WHERE tenant_id = $1", tenant
        )
        return n
    finally:
        await conn.close()


async def _detections(dsn: str, tenant: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT payload FROM trend.detections WHERE tenant_id = $1"
            " ORDER BY detected_at, trend_id, kind",
            tenant,
        )
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


async def _run(
    bootstrap: str,
    dsn: str,
    prefix: str,
    tenant: str,
    events: Sequence[PostIndexed],
    *,
    total: int | None = None,
) -> None:
    """Publish ``events``, then run the service until the tenant has ``total`` posts
    processed (default: as many as ``events``)."""
    await publish_replay(bootstrap, prefix, events, tenant)
    app = build_app(_settings(bootstrap, prefix, dsn))
    async with running(app.kit):
        wanted = len(events) if total is None else total

        async def done() -> bool:
            return await _processed(dsn, tenant) >= wanted and app.deps.engine.held_count() == 0

        await eventually(done, timeout_s=120)


def _comparable(detections: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def strip(post_id: str) -> str:
        return post_id.split(":", 1)[1]

    return [
        (
            d["trend_id"],
            d["kind"],
            d["window_end"],
            d["headline"],
            tuple(d["channels"]),
            tuple(strip(p["post_id"]) for p in d["representative_posts"]),
            d["burst_score"],
            d["post_count"],
        )
        for d in detections
    ]


async def test_replay_gives_cited_multi_channel_trends_and_the_same_trends_twice(
    bootstrap: str, pg_dsn: str, replay_cache: Path
) -> None:
    first, second = f"a{uuid.uuid4().hex[:8]}", f"b{uuid.uuid4().hex[:8]}"
    runs = {}
    for tenant in (first, second):
        events = build_replay(tenant, replay_cache)
        prefix = f"t{uuid.uuid4().hex[:10]}."
        await _run(bootstrap, pg_dsn, prefix, tenant, events)
        detections = await _detections(pg_dsn, tenant)
        runs[tenant] = detections
        by_id = {e.post_id: e for e in events}
        assert len(detections) >= 20
        for d in detections:
            assert len(set(d["channels"])) >= 3, d
            assert d["representative_posts"], d
            for ref in d["representative_posts"]:
                post = by_id[ref["post_id"]]  # resolves to a post of this replay
                assert (post.channel_id, post.message_id) == (ref["channel_id"], ref["message_id"])
                assert ref["permalink"] == post.permalink
        expected = len(detections)
        published = await read_topic(
            bootstrap,
            prefix + "trend.detected.v1",
            until=lambda rs: len(rs) >= expected,  # noqa: B023 - used before the loop moves on
            timeout_s=30,
        )
        assert {json.loads(r.value)["payload"]["trend_id"] for r in published} == {
            d["trend_id"] for d in detections
        }
    assert _comparable(runs[first]) == _comparable(runs[second])


async def test_request_with_reply_to_gets_one_list_of_current_trends_or_an_empty_one(
    bootstrap: str, prefix: str, pg_dsn: str, replay_cache: Path
) -> None:
    tenant = f"r{uuid.uuid4().hex[:8]}"
    events = build_replay(tenant, replay_cache)[-600:]
    await publish_replay(bootstrap, prefix, events, tenant)
    app = build_app(_settings(bootstrap, prefix, pg_dsn))
    asker = ServiceKit(probe_settings(bootstrap, prefix, consumer_group="asker"))
    rpc = asker.rpc()
    async with running(app.kit), running(asker):

        async def done() -> bool:
            return await _processed(pg_dsn, tenant) >= len(events)

        await eventually(done, timeout_s=90)
        replies = {}
        for who, request_id in ((tenant, "req-1"), (f"q{uuid.uuid4().hex[:8]}", "req-2")):
            request = asker.publisher.envelope(
                ReportTrends(request_id=request_id, limit=5),
                topic="trend.requested.v1",
                tenant_id=who,
            )
            reply = await rpc.request(request, timeout_s=20)
            assert reply.tenant_id == who
            assert reply.causation_id == request.event_id
            replies[request_id] = reply.payload
    report, quiet = replies["req-1"], replies["req-2"]
    assert isinstance(report, TrendsReported)
    assert isinstance(quiet, TrendsReported)
    assert report.request_id == "req-1"
    assert 1 <= len(report.trends) <= 5
    assert report.as_of == max(e.date for e in events)
    kinds = [t.kind for t in report.trends]
    assert kinds == sorted(kinds)  # emerging before stable
    for trend in report.trends:
        assert trend.request_id == "req-1"
        assert trend.representative_posts
        assert len(set(trend.channels)) >= 3
    # A tenant with no posts gets an answer too: the empty list, not silence.
    assert quiet == TrendsReported(request_id="req-2", trends=[], as_of=None)


async def test_restart_continues_from_stored_state_and_redelivery_counts_once(
    bootstrap: str, pg_dsn: str, replay_cache: Path
) -> None:
    whole, split = f"w{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}"
    events_whole = build_replay(whole, replay_cache)[:1000]
    await _run(bootstrap, pg_dsn, f"t{uuid.uuid4().hex[:10]}.", whole, events_whole)

    events = build_replay(split, replay_cache)[:1000]
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await _run(bootstrap, pg_dsn, prefix, split, events[:500])
    # A new process on the same database; the second half plus 150 redelivered posts.
    await _run(
        bootstrap, pg_dsn, prefix, split, [*events[350:500], *events[500:]], total=len(events)
    )
    assert await _processed(pg_dsn, split) == len(events)
    assert _comparable(await _detections(pg_dsn, split)) == _comparable(
        await _detections(pg_dsn, whole)
    )
    conn = await asyncpg.connect(pg_dsn)
    try:
        sizes = {
            tenant: await conn.fetchval(
                "SELECT sum(size) FROM trend.stories WHERE tenant_id = $1 AND status <> 'merged'",
                tenant,
            )
            for tenant in (whole, split)
        }
        # The idf went on from the stored document frequencies; redelivery counted nothing.
        documents = {
            tenant: await conn.fetchval(
                "SELECT documents FROM trend.tenants WHERE tenant_id = $1", tenant
            )
            for tenant in (whole, split)
        }
        frequencies: dict[str, dict[str, int]] = {}
        for tenant in (whole, split):
            rows = await conn.fetch(
                "SELECT term, documents FROM trend.term_frequencies WHERE tenant_id = $1", tenant
            )
            frequencies[tenant] = {r["term"]: r["documents"] for r in rows}
        # The days and people each story names (domain.arguments) came back from the store.
        arguments: dict[str, dict[str, tuple[str, str, str]]] = {}
        for tenant in (whole, split):
            rows = await conn.fetch(
                "SELECT story_id, state->>'days' AS days, state->>'people' AS people,"
                " state->>'full_names' AS named FROM trend.stories WHERE tenant_id = $1",
                tenant,
            )
            arguments[tenant] = {r["story_id"]: (r["days"], r["people"], r["named"]) for r in rows}
    finally:
        await conn.close()
    assert sizes[whole] == sizes[split] == len(events)
    assert documents[whole] == documents[split] == len(events)
    assert frequencies[whole] == frequencies[split]
    assert len(frequencies[whole]) > 1000
    assert arguments[whole] == arguments[split]
    assert any(named == "true" for _, _, named in arguments[whole].values())
    assert any(days != "[]" for days, _, _ in arguments[whole].values())
