"""``make bench``: latency of the platform's Kafka plumbing on loopback.

- ``kafka_hop_ms``: one envelope published by the runtime's publisher until the consuming
  handler is entered (same process, so one clock), messages sent one at a time;
- ``rpc_round_trip_ms``: request/reply over Kafka through the runtime's reply-to client
  against an echo responder;
- ``infra_startup_s``: the servers' last measured start-up times (from ``deploy/local``);
- ``memory_*``: episodic memory ingest rate through Kafka and read latency at 1 M rows;
- ``dlq``: dead-letter intake rate and re-publish throughput (due → published);
- ``retrieval_*``: the whole dataset ingested end to end (posts/s, seconds per indexing
  stage) and search latency over request/reply at 1 and 10 concurrent clients;
- ``trend``: trend-service throughput (posts/s) on the replay of 2024-11-26..12-04.

Prints a table and writes ``reports/bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic_settings import SettingsConfigDict

from contracts.envelope import Envelope
from contracts.v1.posts import PostIngested
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from servicekit.settings import ServiceSettings, load_settings
from tools.report import REPO, percentiles_ms, print_table, write_report

TOPIC = "posts.ingested.v1"


class BenchSettings(ServiceSettings):
    """Settings of the throwaway services the benchmark runs."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_BENCH_")
    service_name: ClassVar[str] = "bench"


def _post(n: int) -> PostIngested:
    return PostIngested(
        channel_id="bench",
        chat_kind="channel",
        message_id=n,
        date=datetime.now(UTC),
        text=f"benchmark post {n}",
        source="api",
    )


async def kafka_hop(bootstrap: str, prefix: str, n: int, warmup: int) -> list[float]:
    kit = ServiceKit(load_settings(BenchSettings, kafka_bootstrap=bootstrap, topic_prefix=prefix))
    entered: dict[str, float] = {}
    arrived = asyncio.Event()

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        entered[envelope.event_id] = time.perf_counter()
        arrived.set()

    kit.consume(TOPIC, handle)
    await kit.start()
    samples: list[float] = []
    try:
        for i in range(n + warmup):
            env = kit.publisher.envelope(_post(i + 1), topic=TOPIC, tenant_id="bench")
            arrived.clear()
            sent = time.perf_counter()
            await kit.publisher.publish(env, key="bench")
            await asyncio.wait_for(arrived.wait(), 30)
            if i >= warmup:
                samples.append(entered[env.event_id] - sent)
    finally:
        await kit.stop()
    return samples


async def rpc_round_trip(bootstrap: str, prefix: str, n: int, warmup: int) -> list[float]:
    def settings(group: str) -> BenchSettings:
        return load_settings(
            BenchSettings, kafka_bootstrap=bootstrap, topic_prefix=prefix, consumer_group=group
        )

    responder = ServiceKit(settings("responder"))

    async def echo(envelope: Envelope[Any], ctx: MessageContext) -> None:
        if ctx.reply_to:
            reply = responder.publisher.envelope(
                envelope.payload, topic=TOPIC, tenant_id=envelope.tenant_id, causation=envelope
            )
            await responder.publisher.publish(reply, physical_topic=ctx.reply_to)

    responder.consume(TOPIC, echo)
    requester = ServiceKit(settings("requester"))
    client = requester.rpc()
    await responder.start()
    await requester.start()
    samples: list[float] = []
    try:
        for i in range(n + warmup):
            env = requester.publisher.envelope(_post(i + 1), topic=TOPIC, tenant_id="bench")
            started = time.perf_counter()
            await client.request(env, key="bench", timeout_s=30)
            if i >= warmup:
                samples.append(time.perf_counter() - started)
    finally:
        await requester.stop()
        await responder.stop()
    return samples


def startup_times() -> dict[str, float]:
    folder = REPO / ".state" / "timings"
    out: dict[str, float] = {}
    for path in sorted(folder.glob("*.startup_s")) if folder.is_dir() else []:
        try:
            out[path.name.removesuffix(".startup_s")] = float(path.read_text().strip())
        except ValueError:
            continue
    return out


async def plumbing(bootstrap: str, n: int) -> dict[str, Any]:
    """The Kafka hop and the request/reply round trip."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    hop = percentiles_ms(await kafka_hop(bootstrap, prefix, n, warmup=20))
    rpc = percentiles_ms(await rpc_round_trip(bootstrap, prefix, n, warmup=20))
    print_table(
        f"Kafka plumbing on loopback ({bootstrap}), milliseconds",
        [("kafka_hop_ms (publish → handler)", hop), ("rpc_round_trip_ms (reply-to)", rpc)],
    )
    return {"kafka_hop_ms": hop, "rpc_round_trip_ms": rpc}


async def memory(bootstrap: str, dsn: str) -> dict[str, Any]:
    """Episodic memory: ingest rate through Kafka and reads at a million rows."""
    from tools import bench_memory

    figures = await bench_memory.run(dsn, bootstrap)
    bench_memory.print_figures(figures)
    return {
        "memory_ingest": figures["ingest"],
        "memory_reads_ms": figures["reads_ms"],
        "memory_bulk_load": figures["bulk_load"],
    }


async def dlq(bootstrap: str, dsn: str) -> dict[str, Any]:
    """The DLQ service: dead-letter intake rate and re-publish throughput."""
    from tools import bench_dlq

    figures = await bench_dlq.run(dsn, bootstrap)
    bench_dlq.print_figures(figures)
    return {"dlq": figures}


async def retrieval(bootstrap: str, dsn: str) -> dict[str, Any]:
    """Whole-dataset ingestion into the three stores, and search latency at 1/10 clients."""
    from tools import bench_retrieval

    neo4j_uri = os.environ.get("TGI_NEO4J_URI", "bolt://127.0.0.1:17687")
    figures = await bench_retrieval.run(dsn, bootstrap, neo4j_uri)
    bench_retrieval.print_figures(figures)
    return {"retrieval_ingest": figures["ingest"], "retrieval_search_ms": figures["search_ms"]}


async def trend(bootstrap: str, dsn: str) -> dict[str, Any]:
    """Trend-service throughput on the replay of the dense news window."""
    from tools import bench_trend

    figures = await bench_trend.run(dsn, bootstrap)
    bench_trend.print_figures(figures)
    return {"trend": figures}


SECTIONS = ("plumbing", "memory", "dlq", "retrieval", "trend")


async def main(bootstrap: str, dsn: str, n: int, only: list[str]) -> None:
    figures: dict[str, Any] = {}
    if "plumbing" in only:
        figures.update(await plumbing(bootstrap, n))
    if "memory" in only:
        figures.update(await memory(bootstrap, dsn))
    if "dlq" in only:
        figures.update(await dlq(bootstrap, dsn))
    if "retrieval" in only:
        figures.update(await retrieval(bootstrap, dsn))
    if "trend" in only:
        figures.update(await trend(bootstrap, dsn))
    startup = startup_times()
    if startup:
        print("\nServer start-up (last `infra.sh up`), seconds")
        for name, secs in startup.items():
            print(f"  {name:<34}{secs:>10}")
    figures["infra_startup_s"] = startup
    figures["sections"] = only
    path = write_report("bench", figures)
    print(f"\nwrote {path.relative_to(REPO)}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="measured samples per latency benchmark")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint"),
    )
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.dsn, args.n, args.only))


if __name__ == "__main__":
    cli()
