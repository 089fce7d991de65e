"""Digest latency with the offline provider, on the shipped 2024-11-26..12-04 window.

The posts are first written to ``retrieval.posts`` of a scratch database exactly as the
retrieval service writes them (its own ``Indexer``: analysis, near-duplicate marking,
upsert; the vector and graph stores are left out, the digest reads only the canonical rows).
Then digests are written in-process by the service's own runner on Postgres: 1-day digests
over all shipped channels (each day ending 2024-11-28..12-04, ``--repeat`` times with new
run ids), and 7-day digests (ending 12-03 and 12-04). Latency is from the request to the
stored result (read window, cluster, rank, compose, verify, render, store manifest and
result).

``python -m tools.bench_digest`` prints a table and writes ``reports/bench-digest.json``;
``load_window`` is reused by ``tools.eval_digest`` and the integration tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from contracts.v1.digest import GenerateDigest
from servicekit.postgres import PostgresResource
from services.digest.adapters.postgres_posts import PostgresPostSource
from services.digest.adapters.postgres_store import PostgresRunStore
from services.digest.runner import DigestRunner, Outcome
from services.retrieval.adapters.postgres_posts import PostgresPosts
from services.retrieval.domain.model import IndexedPoint, Post, SparseVector
from services.retrieval.indexing import Incoming, Indexer
from tools.dataset import channel_posts
from tools.report import percentiles_ms, print_table, write_report
from tools.scratch import scratch_database

REPO: Final = Path(__file__).resolve().parent.parent
DIGEST_MIGRATIONS: Final = REPO / "services" / "digest" / "migrations"
RETRIEVAL_MIGRATIONS: Final = REPO / "services" / "retrieval" / "migrations"
WINDOW_END: Final = datetime(2024, 12, 4, 23, 59, tzinfo=UTC)


class _NoVectors:
    """Vector store left out: the digest reads canonical rows only."""

    async def upsert(self, points: Sequence[IndexedPoint]) -> None:
        return None


class _NoGraph:
    async def write_posts(self, posts: Sequence[Post]) -> None:
        return None


class _NoEmbedder:
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[0.0] for _ in texts]


class _NoSparse:
    def encode_document(self, text: str, language: str) -> SparseVector:
        return SparseVector((), ())


async def load_window(dsn: str, tenant: str, since: datetime, until: datetime) -> int:
    """Write the shipped posts dated in ``[since, until)`` to ``retrieval.posts`` of ``dsn``
    for ``tenant`` (migrating it first), as the retrieval service's indexer would; returns
    how many posts were written."""
    db = PostgresResource(dsn, schema="retrieval", migrations=RETRIEVAL_MIGRATIONS, max_size=4)
    await db.start()
    try:
        indexer = Indexer(
            repo=PostgresPosts(db),
            vectors=_NoVectors(),  # type: ignore[arg-type]  # only upsert is used
            graph=_NoGraph(),  # type: ignore[arg-type]  # only write_posts is used
            embedder=_NoEmbedder(),  # type: ignore[arg-type]  # only embed is used
            sparse=_NoSparse(),  # type: ignore[arg-type]  # only encode_document is used
        )
        posts = sorted(
            (p for p in channel_posts() if since <= p.date < until),
            key=lambda p: (p.date, p.channel_id, p.message_id),
        )
        written = 0
        for start in range(0, len(posts), 500):
            batch = [Incoming(tenant, p) for p in posts[start : start + 500]]
            result = await indexer.index(batch)
            written += len(result.written)
        return written
    finally:
        await db.close()


def shipped_channels() -> list[str]:
    """Every channel id of the shipped dataset, sorted."""
    return sorted({p.channel_id for p in channel_posts()})


def request(
    channels: Sequence[str], until: datetime, days: int, run_id: str | None = None
) -> GenerateDigest:
    """A smart channel digest of ``channels`` over ``days`` ending at ``until``."""
    return GenerateDigest(
        run_id=run_id or uuid.uuid4().hex,
        user_id="bench",
        kind="channel",
        channels=list(channels),
        period_days=days,
        until=until,
        formats=["markdown", "telegram_html"],
    )


async def open_runner(dsn: str) -> tuple[DigestRunner, PostgresResource]:
    """The offline runner on ``dsn`` (digest schema migrated); close the resource after."""
    db = PostgresResource(dsn, schema="digest", migrations=DIGEST_MIGRATIONS, max_size=4)
    await db.start()
    return DigestRunner(PostgresPostSource(db), PostgresRunStore(db)), db


async def timed(runner: DigestRunner, tenant: str, cmd: GenerateDigest) -> tuple[float, Outcome]:
    """Seconds to write one digest, and its outcome."""
    started = time.perf_counter()
    outcome = await runner.run(tenant, cmd, now=datetime.now(UTC))
    return time.perf_counter() - started, outcome


async def run(admin_dsn: str, repeat: int) -> dict[str, Any]:
    """Load the window, measure, return the figures."""
    async with scratch_database(admin_dsn, "digestbench") as dsn:
        tenant = "bench"
        started = time.perf_counter()
        loaded = await load_window(
            dsn, tenant, datetime(2024, 11, 20, tzinfo=UTC), datetime(2024, 12, 5, tzinfo=UTC)
        )
        load_s = time.perf_counter() - started
        runner, db = await open_runner(dsn)
        channels = shipped_channels()
        try:
            day: list[float] = []
            statuses: dict[str, int] = {}
            for _ in range(repeat):
                for d in range(7):
                    until = datetime(2024, 11, 29, tzinfo=UTC) + timedelta(days=d)
                    seconds, outcome = await timed(runner, tenant, request(channels, until, 1))
                    day.append(seconds)
                    statuses[outcome.result.status] = statuses.get(outcome.result.status, 0) + 1
            week: list[float] = []
            for _ in range(repeat):
                for end in (datetime(2024, 12, 4, tzinfo=UTC), datetime(2024, 12, 5, tzinfo=UTC)):
                    seconds, outcome = await timed(runner, tenant, request(channels, end, 7))
                    week.append(seconds)
                    statuses[outcome.result.status] = statuses.get(outcome.result.status, 0) + 1
        finally:
            await db.close()
    return {
        "posts_loaded": loaded,
        "load_s": round(load_s, 1),
        "channels": len(channels),
        "digest_1d_ms": percentiles_ms(day),
        "digest_7d_ms": percentiles_ms(week),
        "statuses": statuses,
        "target_1d_p95_ms": 5000,
    }


def print_figures(figures: dict[str, Any]) -> None:
    print_table(
        "digest latency (offline provider, all shipped channels)",
        [("digest_1d_ms", figures["digest_1d_ms"]), ("digest_7d_ms", figures["digest_7d_ms"])],
    )
    print(
        f"  posts loaded {figures['posts_loaded']} in {figures['load_s']} s; "
        f"statuses {figures['statuses']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dsn = os.environ.get("TGI_POSTGRES_DSN")
    if not dsn:
        raise SystemExit('TGI_POSTGRES_DSN is not set: eval "$(deploy/local/infra.sh env)"')
    figures = asyncio.run(run(dsn, args.repeat))
    print_figures(figures)
    path = write_report("bench-digest", figures)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
