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
- ``trend``: trend-service throughput (posts/s) on the replay of 2024-11-26..12-04;
- ``gateway``: ``POST /v1/rag/query`` at 1, 10 and 50 concurrent clients over the whole
  dataset with the six services as processes (``tools.bench_gateway``): latency, LLM calls,
  tokens and agent steps per request, cache hit rates, peak RSS per service;
- ``digest``: 1-day and 7-day digest latency with the offline provider (``tools.bench_digest``).

Prints a table per section and writes ``reports/bench.json`` and ``reports/bench.md`` (the
key figures beside the seed's KPIs and our targets). ``--only`` runs some sections and keeps
the other sections' last figures, each with the time it was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

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


async def gateway(bootstrap: str, dsn: str, llm_latency_ms: int | None) -> dict[str, Any]:
    """The fast path through the REST gateway, all services as processes."""
    from tools import bench_gateway

    neo4j_uri = os.environ.get("TGI_NEO4J_URI", "bolt://127.0.0.1:17687")
    figures = await bench_gateway.run(dsn, bootstrap, neo4j_uri, llm_latency_ms=llm_latency_ms)
    bench_gateway.print_figures(figures)
    return {"gateway": figures}


async def digest(dsn: str) -> dict[str, Any]:
    """Digest latency for 1-day and 7-day windows, offline provider."""
    from tools import bench_digest

    figures = await bench_digest.run(dsn, repeat=3)
    bench_digest.print_figures(figures)
    return {"digest": figures}


SECTIONS = ("plumbing", "memory", "dlq", "retrieval", "trend", "gateway", "digest")
#: Which top-level keys of the report each section writes.
SECTION_KEYS: Final = {
    "plumbing": ("kafka_hop_ms", "rpc_round_trip_ms"),
    "memory": ("memory_ingest", "memory_reads_ms", "memory_bulk_load"),
    "dlq": ("dlq",),
    "retrieval": ("retrieval_ingest", "retrieval_search_ms"),
    "trend": ("trend",),
    "gateway": ("gateway",),
    "digest": ("digest",),
}


async def main(
    bootstrap: str, dsn: str, n: int, only: list[str], llm_latency_ms: int | None = None
) -> None:
    figures = _previous()
    measured_at = figures.setdefault("sections_measured_at", {})
    for section in only:
        if section == "plumbing":
            new = await plumbing(bootstrap, n)
        elif section == "memory":
            new = await memory(bootstrap, dsn)
        elif section == "dlq":
            new = await dlq(bootstrap, dsn)
        elif section == "retrieval":
            new = await retrieval(bootstrap, dsn)
        elif section == "trend":
            new = await trend(bootstrap, dsn)
        elif section == "gateway":
            new = await gateway(bootstrap, dsn, llm_latency_ms)
        else:
            new = await digest(dsn)
        figures.update(new)
        measured_at[section] = datetime.now(UTC).isoformat(timespec="seconds")
    startup = startup_times()
    if startup:
        print("\nServer start-up (last `infra.sh up`), seconds")
        for name, secs in startup.items():
            print(f"  {name:<34}{secs:>10}")
    figures["infra_startup_s"] = startup
    figures["sections"] = sorted(measured_at, key=SECTIONS.index)
    path = write_report("bench", figures)
    summary = kpi_rows(figures)
    markdown = REPO / "reports" / "bench.md"
    markdown.write_text(kpi_markdown(summary, figures), encoding="utf-8")
    print("\nKey figures")
    for row in summary:
        print(f"  {row[0]:<44}{row[1]:>22}   {row[2]:<26}{row[3]}")
    print(f"\nwrote {path.relative_to(REPO)} and {markdown.relative_to(REPO)}")


def _previous() -> dict[str, Any]:
    """The last report's sections (machine and time fields are written anew)."""
    path = REPO / "reports" / "bench.json"
    if not path.exists():
        return {}
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for key in ("target", "measured_at", "machine"):
        doc.pop(key, None)
    return doc


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _verdict(value: float | None, limit: float, *, at_most: bool = True) -> str:
    if value is None:
        return "not measured"
    ok = value <= limit if at_most else value >= limit
    return "met" if ok else "MISSED"


def kpi_rows(f: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, measured, seed KPI or our target, verdict) for the Markdown summary."""
    rows: list[tuple[str, str, str, str]] = []

    def add(name: str, value: Any, unit: str, target: str = "", verdict: str = "") -> None:
        shown = "not measured" if value is None else f"{value} {unit}".strip()
        rows.append((name, shown, target, verdict))

    ingest = _get(f, "retrieval_ingest", "posts_per_s")
    add(
        "ingest end to end (whole dataset)",
        ingest,
        "posts/s",
        "≥ 300 posts/s",
        _verdict(ingest, 300, at_most=False),
    )
    add("Kafka hop p50", _get(f, "kafka_hop_ms", "p50"), "ms")
    add("Kafka hop p99", _get(f, "kafka_hop_ms", "p99"), "ms")
    add("request/reply round trip p50", _get(f, "rpc_round_trip_ms", "p50"), "ms")
    for c in ("concurrency_1", "concurrency_10"):
        add(
            f"retrieval search p95, {c.split('_')[1]} client(s)",
            _get(f, "retrieval_search_ms", c, "p95"),
            "ms",
        )
    for c in ("1", "10", "50"):
        for q in ("p50", "p95", "p99"):
            value = _get(f, "gateway", "levels", c, "latency_ms", q)
            target, verdict = "", ""
            if q == "p95":
                target, verdict = "seed: < 5000 ms", _verdict(value, 5000)
                if c == "10":
                    target, verdict = "ours: ≤ 300 ms", _verdict(value, 300)
            add(f"fast path {q}, {c} client(s)", value, "ms", target, verdict)
    usage = _get(f, "gateway", "per_request", "10") or {}
    calls = _get(usage, "llm_calls", "mean")
    add(
        "LLM calls per request (mean, 10 clients)",
        calls,
        "",
        "seed: < 3",
        _verdict(calls, 3, at_most=True),
    )
    tokens = _get(usage, "tokens", "p95")
    add("tokens per request p95", tokens, "", "seed: < 8000", _verdict(tokens, 8000))
    steps = _get(usage, "agent_steps", "p95")
    add("agent steps per request p95", steps, "", "seed: ≤ 4", _verdict(steps, 4))
    for cache, rate in (_get(f, "gateway", "cache_hit_rate") or {}).items():
        add(f"cache hit rate: {cache}", rate.get("hit_rate"), "")
    for name, window in (("1-day", "1d"), ("7-day", "7d")):
        p50 = _get(f, "digest", f"digest_{window}_ms", "p50")
        p95 = _get(f, "digest", f"digest_{window}_ms", "p95")
        target, verdict = ("< 5000 ms", _verdict(p95, 5000)) if window == "1d" else ("", "")
        add(f"digest {name} p50", p50, "ms")
        add(f"digest {name} p95", p95, "ms", target, verdict)
    add("trend engine throughput (replay)", _get(f, "trend", "engine", "posts_per_s"), "posts/s")
    add(
        "trend service throughput (Kafka + Postgres)",
        _get(f, "trend", "service", "posts_per_s"),
        "posts/s",
    )
    for service, mib in (_get(f, "gateway", "peak_rss_mb") or {}).items():
        add(f"peak RSS: {service}", mib, "MiB")
    return rows


def kpi_markdown(rows: list[tuple[str, str, str, str]], f: dict[str, Any]) -> str:
    lines = [
        "# Benchmark report",
        "",
        "Written by `make bench` (`python -m tools.bench`); the full figures are in `bench.json`.",
        "Sections and when each was last measured: "
        + ", ".join(f"{k} {v}" for k, v in (f.get("sections_measured_at") or {}).items()),
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        "| figure | measured | KPI / target | verdict |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines) + "\n"


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="measured samples per latency benchmark")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--llm-latency-ms",
        type=int,
        default=None,
        help="gateway section: run the services with a scripted LLM answering after this many "
        "ms (separates the system's own time from the LLM's); default: offline provider",
    )
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint"),
    )
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.dsn, args.n, args.only, args.llm_latency_ms))


if __name__ == "__main__":
    cli()
