"""Episodic memory benchmark: ingest rate through Kafka, read latency at a million rows.

- ``ingest``: ``events`` lifecycle events are published on Kafka (a unique topic prefix) while
  the memory service is stopped; then the service starts in-process and the time until every
  event is in Postgres is measured. ``episodes_per_s`` counts from the first stored row to
  the last (the drain rate); ``end_to_end_s`` also includes start-up and the group join.
- ``bulk_load``: ``rows`` episodes over 1 000 tenants (Zipf-like sizes) and the last 365
  days, in runs of five, loaded with binary ``COPY`` into the partitioned table (indexes
  live), then ``ANALYZE``.
- ``reads``: ``reads`` random reads of each shape, at API level (HTTP through the service's
  FastAPI app in-process via ``httpx.ASGITransport``: validation, SQL, JSON) and at store
  level (the asyncpg adapter's SQL alone): a tenant's latest 100, a tenant's latest 100
  errors, a run's timeline.

Everything happens in a database created for the run and dropped afterwards.
``python -m tools.bench_memory`` prints a table; ``run()`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import accumulate
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from pydantic_core import to_json

from contracts import headers as H
from contracts.envelope import derived_event_id, make_envelope
from contracts.registry import REGISTRY
from contracts.v1.lifecycle import LifecycleEvent, LifecycleKind
from servicekit.app import ServiceApp
from servicekit.auth import bearer_headers
from servicekit.logging import configure_logging
from servicekit.settings import load_settings
from servicekit.topics import ensure_topics
from services.memory.adapters.episodes import read_sql
from services.memory.app import MemoryHandles, build_app
from services.memory.domain.episode import EpisodeFilter
from services.memory.settings import MemorySettings
from tools.report import percentiles_ms, print_table
from tools.scratch import scratch_database

TENANTS = 1000
TOKEN = secrets.token_urlsafe(24)  # the in-process memory API's internal token
RUN: list[LifecycleKind] = ["run_started", "retry", "quality_low", "error", "run_completed"]
_COLUMNS = [
    "event_id",
    "tenant_id",
    "run_id",
    "kind",
    "service",
    "domain",
    "details",
    "occurred_at",
]


async def run(
    dsn: str,
    bootstrap: str,
    *,
    rows: int = 1_000_000,
    events: int = 20_000,
    reads: int = 200,
    seed: int = 7,
) -> dict[str, Any]:
    """Measure ingest and reads in a throwaway database made next to ``dsn``; return figures."""
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not secrets
    async with scratch_database(dsn, "bench_memory") as bench_dsn:
        prefix = f"benchmem{uuid.uuid4().hex[:8]}."
        # Created as the registry says (partitions), not auto-created by the first publish.
        await ensure_topics(bootstrap, [REGISTRY["lifecycle.v1"]], prefix=prefix)
        await _publish(bootstrap, prefix, events, rng)
        app = build_app(
            load_settings(
                MemorySettings,
                kafka_bootstrap=bootstrap,
                topic_prefix=prefix,
                postgres_dsn=bench_dsn,
                retention_days=400,  # keep the year of bulk-loaded rows
                log_level="WARNING",
                internal_token=TOKEN,
            )
        )
        try:
            ingest = await _ingest(app, bench_dsn, events)
            load = await _bulk_load(bench_dsn, rows, rng)
            latencies = await _reads(app, bench_dsn, reads, rng)
            plans = await _plans(bench_dsn)
        finally:
            await app.kit.stop()
    return {"ingest": ingest, "bulk_load": load, "reads_ms": latencies, "plans": plans}


async def _publish(bootstrap: str, prefix: str, n: int, rng: random.Random) -> None:
    """``n`` lifecycle events in runs of five over 200 tenants, the last hour."""
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        pending = []
        for i in range(n):
            run_no, step = divmod(i, len(RUN))
            tenant = f"tenant{run_no % 200}"
            env = make_envelope(
                LifecycleEvent(
                    run_id=f"run{run_no}",
                    kind=RUN[step],
                    service="digest",
                    domain="digest",
                    details={"step": step, "docs": rng.randint(1, 30)},
                ),
                event_type="lifecycle",
                schema_version=1,
                producer="bench@0",
                tenant_id=tenant,
                correlation_id=f"run{run_no}",
                occurred_at=now - timedelta(seconds=rng.uniform(0, 3600)),
            )
            headers = [(k, v.encode()) for k, v in H.envelope_headers(env).items()]
            pending.append(
                await producer.send(
                    prefix + "lifecycle.v1",
                    env.model_dump_json().encode(),
                    key=f"{tenant}:run{run_no}".encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _ingest(app: ServiceApp, dsn: str, n: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await app.kit.start()
        first_at, first_count = 0.0, 0
        while True:
            count = await _count(conn)
            now = time.perf_counter()
            if count and not first_at:
                first_at, first_count = now, count
            if count >= n:
                break
            if now - started > 600:
                raise TimeoutError(f"only {count} of {n} episodes stored after 600 s")
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    drain = now - first_at
    return {
        "events": n,
        "episodes_per_s": round((n - first_count) / drain) if drain > 0 else None,
        "drain_s": round(drain, 3),
        "end_to_end_s": round(now - started, 3),
    }


async def _count(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval("SELECT count(*) FROM memory.episodes")
    return int(value)


def _generate(n: int, rng: random.Random, now: datetime) -> list[tuple[Any, ...]]:
    """``n`` episodes in runs of five, time-ordered (as a live system writes them)."""
    records: list[tuple[Any, ...]] = []
    runs = -(-n // len(RUN))
    # Zipf-like tenant sizes (s = 0.8): the largest holds ~6 % of the rows, a long tail.
    weights = list(accumulate(1 / (k + 1) ** 0.8 for k in range(TENANTS)))
    owners = rng.choices(range(TENANTS), cum_weights=weights, k=runs)
    for r in range(runs):
        tenant = f"t{owners[r]}"
        begin = now - timedelta(seconds=rng.uniform(60, 365 * 86400))
        for step, kind in enumerate(RUN[: min(len(RUN), n - len(records))]):
            at = begin + timedelta(seconds=step * 7)
            records.append(
                (
                    derived_event_id(at, "bench", str(r), kind),
                    tenant,
                    f"bulk{r}",
                    kind,
                    "digest",
                    "digest",
                    to_json({"step": step, "docs": step * 3}).decode(),
                    at,
                )
            )
    records.sort(key=lambda rec: rec[-1])
    return records


async def _bulk_load(dsn: str, n: int, rng: random.Random) -> dict[str, Any]:
    started = time.perf_counter()
    # In a thread, so the running service's Kafka heartbeats go on meanwhile.
    records = await asyncio.to_thread(_generate, n, rng, datetime.now(UTC))
    generated = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "episodes", schema_name="memory", columns=_COLUMNS, records=records
        )
        copied = time.perf_counter()
        await conn.execute("ANALYZE memory.episodes")
        total = await _count(conn)
        partitions = await conn.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'memory.episodes'::regclass"
        )
    finally:
        await conn.close()
    return {
        "rows": n,
        "rows_in_table": total,
        "partitions": int(partitions),
        "generate_s": round(generated - started, 1),
        "copy_s": round(copied - generated, 1),
        "copy_rows_per_s": round(n / (copied - generated)),
        "analyze_s": round(time.perf_counter() - copied, 1),
    }


async def _reads(
    app: ServiceApp, dsn: str, n: int, rng: random.Random
) -> dict[str, dict[str, float]]:
    handles = app.deps
    assert isinstance(handles, MemoryHandles)
    conn = await asyncpg.connect(dsn)
    try:
        tenants = [r[0] for r in await conn.fetch("SELECT DISTINCT tenant_id FROM memory.episodes")]
        runs = await conn.fetch(
            "SELECT tenant_id, run_id FROM memory.episodes TABLESAMPLE SYSTEM (1) LIMIT $1", n
        )
    finally:
        await conn.close()
    pick_tenant = [rng.choice(tenants) for _ in range(n)]
    pick_run = [(r["tenant_id"], r["run_id"]) for r in runs]
    store = handles.episodes
    transport = httpx.ASGITransport(app=app.http)
    out: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://memory", headers=bearer_headers(TOKEN)
    ) as http:

        async def api(path: str, params: dict[str, Any]) -> None:
            response = await http.get(path, params=params)
            response.raise_for_status()

        async def latest(tenant: str) -> None:
            await api("/v1/episodes", {"tenant_id": tenant})

        async def timeline(tenant: str, run_id: str) -> None:
            await api(f"/v1/runs/{run_id}/timeline", {"tenant_id": tenant})

        async def store_latest(tenant: str, kind: LifecycleKind | None = None) -> None:
            await store.find(EpisodeFilter(tenant_id=tenant, kind=kind, limit=101))

        async def store_timeline(tenant: str, run_id: str) -> None:
            query = EpisodeFilter(tenant_id=tenant, run_id=run_id, order="oldest", limit=1001)
            await store.find(query)

        shapes: dict[str, list[Callable[[], Awaitable[None]]]] = {
            "api_latest_100": [partial(latest, t) for t in pick_tenant],
            "api_timeline": [partial(timeline, t, r) for t, r in pick_run],
            "store_latest_100": [partial(store_latest, t) for t in pick_tenant],
            "store_latest_100_errors": [partial(store_latest, t, "error") for t in pick_tenant],
            "store_timeline": [partial(store_timeline, t, r) for t, r in pick_run],
        }
        for name, calls in shapes.items():
            for call in calls[:10]:  # warm the pool, the plan caches and the buffers
                await call()
            samples = []
            for call in calls:
                began = time.perf_counter()
                await call()
                samples.append(time.perf_counter() - began)
            out[name] = _with_p95(samples)
    return out


async def _plans(dsn: str) -> dict[str, dict[str, Any]]:
    """What the planner does for each read shape on the biggest tenant: scan node counts
    and the buffers touched (EXPLAIN ANALYZE, BUFFERS)."""
    conn = await asyncpg.connect(dsn)
    try:
        tenant, run_id = (
            await conn.fetchrow(
                "SELECT tenant_id, max(run_id) FROM memory.episodes GROUP BY 1"
                " ORDER BY count(*) DESC LIMIT 1"
            )
        ) or ("", "")
        shapes = {
            "latest_100": EpisodeFilter(tenant_id=tenant, limit=101),
            "latest_100_errors": EpisodeFilter(tenant_id=tenant, kind="error", limit=101),
            "timeline": EpisodeFilter(tenant_id=tenant, run_id=run_id, order="oldest", limit=1001),
        }
        out: dict[str, dict[str, Any]] = {}
        for name, query in shapes.items():
            sql, args = read_sql(query)
            lines = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)]
            nodes = [ln.strip().removeprefix("->").strip() for ln in lines]
            out[name] = {
                "tenant_rows": await conn.fetchval(
                    "SELECT count(*) FROM memory.episodes WHERE tenant_id = $1", tenant
                ),
                "top_node": lines[0].split("(")[0].strip(),
                "index_scans": sum(n.startswith("Index Scan") for n in nodes),
                # On empty partitions (months ahead, the default) a seq scan is the cheap plan.
                "seq_scans_on_nonempty": sum(
                    n.startswith("Seq Scan") and "rows=0 loops" not in n.split("actual")[-1]
                    for n in nodes
                ),
                "sorts": sum(n.startswith("Sort  (") for n in nodes),
                "execution": lines[-1].strip(),
            }
    finally:
        await conn.close()
    return out


def _with_p95(samples: list[float]) -> dict[str, float]:
    stats = percentiles_ms(samples)
    ms = sorted(s * 1000 for s in samples)
    if ms:
        stats["p95"] = round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3)
    return stats


def print_figures(figures: dict[str, Any]) -> None:
    ingest, load = figures["ingest"], figures["bulk_load"]
    print("\nMemory ingest through Kafka (lifecycle.v1 → memory → Postgres)")
    for key in ("events", "episodes_per_s", "drain_s", "end_to_end_s"):
        print(f"  {key:<34}{ingest[key]!s:>12}")
    print("\nBulk load (binary COPY into the partitioned table)")
    for key, value in load.items():
        print(f"  {key:<34}{value!s:>12}")
    rows = [(name, stats) for name, stats in figures["reads_ms"].items()]
    print_table(f"Reads at {load['rows_in_table']} rows, milliseconds", rows)
    print("  p95: " + ", ".join(f"{n}={s.get('p95')}" for n, s in rows))
    print("\nPlans on the largest tenant (EXPLAIN ANALYZE)")
    for name, plan in figures["plans"].items():
        print(f"  {name:<20}{plan}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="episodes bulk-loaded")
    parser.add_argument("--events", type=int, default=20_000, help="events ingested via Kafka")
    parser.add_argument("--reads", type=int, default=200, help="reads per shape")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint"),
    )
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    args = parser.parse_args()
    configure_logging("WARNING", False, service="bench-memory")
    figures = asyncio.run(
        run(args.dsn, args.bootstrap, rows=args.rows, events=args.events, reads=args.reads)
    )
    print_figures(figures)


if __name__ == "__main__":
    cli()
