"""Gateway benchmark: ``POST /v1/rag/query`` latency over the whole shipped dataset.

1. The six services start as separate processes (offline LLM provider) on topics and a
   database of their own; the whole of tg-ru-news-channels is published with
   ``python -m tools.ingest`` and the benchmark waits until retrieval indexed every post.
2. An API key is made with the key CLI; questions are the first words of random posts (each
   asked once, so neither the retrieval cache nor the router's decision cache flatters the
   numbers), sent over loopback HTTP by 1, 10 and 50 concurrent clients, a bounded number
   each, after a warm-up.
3. Reported per level: client-side latency p50/p95/p99, throughput, statuses, and where the
   time goes per hop inside the gateway (``Server-Timing``: auth, history, route, retrieval
   round trip over Kafka, answer composition, recording); per request: LLM calls, tokens and
   agent steps as the gateway charged them.

``python -m tools.bench_gateway [--requests 1:100,10:300,50:500] [--limit N]`` prints a
table and writes ``reports/bench-gateway.json``; ``--url URL --key KEY`` measures a gateway
that is already running (its tenant's posts ingested) instead of starting one.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from services.retrieval.settings import RetrievalSettings
from services.router import keys as key_cli
from tools.bench_retrieval import _drop_graph
from tools.dataset import channel_posts, data_dir
from tools.report import REPO, percentiles_ms, print_table, write_report
from tools.scratch import scratch_database

SERVICES: Final = ("memory", "dlq", "retrieval", "trend", "digest", "router")
DEFAULT_LEVELS: Final = {1: 100, 10: 300, 50: 500}
TARGET_P95_MS: Final = 300.0
HOPS: Final = ("auth", "history", "route", "retrieval", "search", "answer", "record", "total")


async def run(
    dsn: str,
    bootstrap: str,
    neo4j_uri: str,
    *,
    levels: dict[int, int] | None = None,
    limit: int | None = None,
    warmup: int = 30,
    llm_latency_ms: int | None = None,
) -> dict[str, Any]:
    """Start the stack, ingest the dataset (or its first ``limit`` posts), measure; return
    the figures. With ``llm_latency_ms`` the services use the ``scripted`` LLM provider
    (answers after that many milliseconds) instead of the offline one."""
    levels = levels or dict(DEFAULT_LEVELS)
    tenant = f"bench{uuid.uuid4().hex[:8]}"
    prefix = f"benchgw{uuid.uuid4().hex[:8]}."
    posts = [p for p in channel_posts()][: limit or None]
    async with scratch_database(dsn, "bench_gateway") as db:
        with (
            tempfile.TemporaryDirectory() as state,
            _stack(bootstrap, db, neo4j_uri, prefix, Path(state), llm_latency_ms) as (ports, pids),
        ):
            try:
                ingest = await _ingest(bootstrap, prefix, tenant, db, len(posts), limit)
                ingest["settle_s"] = await _settle(bootstrap, prefix)
                ingest["optimise_wait_s"] = await _optimised(ports["retrieval"])
                key = await _key(db, tenant)
                url = f"http://127.0.0.1:{ports['router']}"
                questions = _questions(posts, levels, warmup)
                figures = await measure(
                    url, key, questions, levels, warmup, pids={**pids, **_infra_pids()}
                )
                figures["peak_rss_mb"] = _peak_rss_mb(pids)
                figures["cache_hit_rate"] = await _cache_hit_rates(ports)
            finally:
                await _drop_graph(neo4j_uri, tenant)
    provider = "offline" if llm_latency_ms is None else f"scripted, {llm_latency_ms} ms per call"
    return {"ingest": ingest, "llm_provider": provider, **figures}


async def measure(
    url: str,
    key: str,
    questions: list[str],
    levels: dict[int, int],
    warmup: int,
    *,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Warm up, then ``levels[c]`` requests at ``c`` concurrent clients for each ``c``;
    with ``pids``, also the CPU each process spent per request at each level."""
    pending = list(questions)
    limits = httpx.Limits(max_connections=max(levels) + 5, max_keepalive_connections=max(levels))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:
        await _level(http, pending, concurrency=5, count=warmup)
        out: dict[str, Any] = {"levels": {}, "per_request": {}}
        for concurrency, count in levels.items():
            before = _cpu_seconds(pids or {})
            level = await _level(http, pending, concurrency=concurrency, count=count)
            spent = _cpu_seconds(pids or {})
            n = max(1, level["summary"]["requests"])
            if pids:
                level["summary"]["cpu_ms_per_request"] = {
                    name: round((spent[name] - before[name]) * 1000 / n, 2)
                    for name in spent
                    if name in before
                }
            out["levels"][str(concurrency)] = level.pop("summary")
            out["per_request"][str(concurrency)] = level.pop("usage")
    at_10 = out["levels"].get("10", {}).get("latency_ms", {}).get("p95")
    out["target"] = {
        "p95_ms_at_10_clients": TARGET_P95_MS,
        "measured": at_10,
        "met": at_10 is not None and at_10 <= TARGET_P95_MS,
    }
    return out


async def _level(
    http: httpx.AsyncClient, pending: list[str], *, concurrency: int, count: int
) -> dict[str, Any]:
    latencies: list[float] = []
    by_status: dict[str, list[float]] = {}
    hops: dict[str, list[float]] = {h: [] for h in HOPS}
    statuses: Counter[str] = Counter()
    usage: dict[str, list[int]] = {"llm_calls": [], "tokens": [], "agent_steps": []}
    todo = [pending.pop() for _ in range(min(count, len(pending)))]

    async def client() -> None:
        while todo:
            question = todo.pop()
            started = time.perf_counter()
            r = await http.post("/v1/rag/query", json={"text": question})
            seconds = time.perf_counter() - started
            latencies.append(seconds)
            if r.status_code != 200:
                statuses[f"http_{r.status_code}"] += 1
                by_status.setdefault(f"http_{r.status_code}", []).append(seconds)
                continue
            body = r.json()
            statuses[body["status"]] += 1
            by_status.setdefault(body["status"], []).append(seconds)
            u = body["usage"]
            usage["llm_calls"].append(u["llm_calls"])
            usage["tokens"].append(u["tokens_in"] + u["tokens_out"])
            usage["agent_steps"].append(u["agent_steps"])
            for name, ms in _server_timing(r.headers.get("server-timing", "")).items():
                if name in hops:
                    hops[name].append(ms / 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "summary": {
            "requests": len(latencies),
            "requests_per_s": round(len(latencies) / wall, 1),
            "latency_ms": percentiles_ms(latencies),
            "statuses": dict(statuses),
            "latency_ms_by_status": {k: percentiles_ms(v) for k, v in sorted(by_status.items())},
            "hops_ms": {h: _p50_p95(v) for h, v in hops.items() if v},
        },
        "usage": {name: _mean_max(values) for name, values in usage.items()},
    }


def _server_timing(header: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name and rest:
            out[name] = float(rest)
    return out


def _p50_p95(samples: list[float]) -> dict[str, float]:
    stats = percentiles_ms(samples)
    return {"p50": stats["p50"], "p95": stats["p95"], "mean": stats["mean"]}


def _mean_max(values: list[int]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 2),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def _questions(posts: list[Any], levels: dict[int, int], warmup: int, seed: int = 11) -> list[str]:
    """Distinct questions: the first eight words of random posts with enough text."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    wanted = warmup + sum(levels.values())
    texts = [p.text for p in posts if len(p.text.split()) >= 8]
    picked = rng.sample(texts, min(len(texts), wanted * 2))
    questions = list(dict.fromkeys(" ".join(t.split()[:8])[:2000] for t in picked))
    return questions[:wanted]


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User plus system CPU seconds of each process so far (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _peak_rss_mb(pids: dict[str, int]) -> dict[str, float]:
    """Peak resident memory of each process so far (``VmHWM``), in MiB."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.M)
        if found:
            out[name] = round(int(found.group(1)) / 1024, 1)
    return out


#: Cache counters scraped from each service's /metrics: (service, hits, misses).
CACHES: Final = {
    "router_decisions": (
        "router",
        "context_router_cache_hits_total",
        "context_router_cache_misses_total",
    ),
    "retrieval_results": (
        "retrieval",
        "performance_cache_hits_total",
        "performance_cache_misses_total",
    ),
}


async def _cache_hit_rates(ports: dict[str, int]) -> dict[str, dict[str, float | None]]:
    """Hits, misses and hit rate of each cache over the whole run (warm-up included)."""
    out: dict[str, dict[str, float | None]] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for cache, (service, hits_name, misses_name) in CACHES.items():
            text = (await http.get(f"http://127.0.0.1:{ports[service]}/metrics")).text
            hits, misses = _counter(text, hits_name), _counter(text, misses_name)
            total = hits + misses
            out[cache] = {
                "hits": hits,
                "misses": misses,
                "hit_rate": round(hits / total, 3) if total else None,
            }
    return out


def _counter(exposition: str, name: str) -> float:
    """The sum of a counter's samples over all its label sets in a Prometheus exposition."""
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})?\s+(\S+)$", flags=re.M)
    return sum(float(v) for v in pattern.findall(exposition))


def _infra_pids() -> dict[str, int]:
    """The servers' pids as ``deploy/local/infra.sh status`` reports them."""
    try:
        status = subprocess.run(  # noqa: S603 - our own script
            [str(REPO / "deploy/local/infra.sh"), "status"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found = re.findall(r"^(\w+)\s+running\s+pid=(\d+)", status, flags=re.M)
    return {name: int(pid) for name, pid in found}


async def _settle(bootstrap: str, prefix: str, timeout_s: float = 900.0) -> float:
    """Wait until every service's consumer group has caught up with its topics (indexing
    leaves work behind: trend receipts, lifecycle events for memory and the DLQ), so the
    measurement is not competing with a backlog. Returns the seconds waited."""
    started = time.perf_counter()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await probe.start()
    try:
        quiet = 0
        while quiet < 2:
            lag = 0
            for service in SERVICES:
                offsets = await admin.list_consumer_group_offsets(prefix + service)
                if not offsets:
                    continue
                ends = await probe.end_offsets(list(offsets))
                lag += sum(max(0, ends[tp] - meta.offset) for tp, meta in offsets.items())
            quiet = quiet + 1 if lag == 0 else 0
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"consumers still {lag} messages behind after {timeout_s} s")
            await asyncio.sleep(2.0)
    finally:
        await probe.stop()
        await admin.close()
    return round(time.perf_counter() - started, 1)


async def _optimised(port: int, timeout_s: float = 600.0) -> float:
    """Wait until the retrieval service optimised its embedded shard after the import (it
    holds the service for seconds while it does, which must not fall into a measurement).
    Returns the seconds waited."""
    threshold = RetrievalSettings.model_fields["edge_optimize_min_points"].default
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            if _counter(text, "retrieval_edge_unoptimized_points") < threshold:
                return round(time.perf_counter() - started, 1)
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"the shard was not optimised within {timeout_s} s")
            await asyncio.sleep(1.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _stack(
    bootstrap: str,
    dsn: str,
    neo4j_uri: str,
    prefix: str,
    state: Path,
    llm_latency_ms: int | None = None,
) -> Iterator[tuple[dict[str, int], dict[str, int]]]:
    """The six services as processes; stopped (SIGTERM, then SIGKILL) on exit."""
    ports = {name: _free_port() for name in SERVICES}
    env = {
        **os.environ,
        "TGI_KAFKA_BOOTSTRAP": bootstrap,
        "TGI_POSTGRES_DSN": dsn,
        "TGI_NEO4J_URI": neo4j_uri,
        "TGI_TOPIC_PREFIX": prefix,
        "TGI_LOG_JSON": "true",
        "TGI_LOG_LEVEL": "WARNING",
        "TGI_RETRIEVAL_QDRANT_EDGE_PATH": str(state / "qdrant-edge"),
        # The router reads memory and manifests with the internal token (one per bench run
        # unless the environment has the deployment's).
        "TGI_INTERNAL_TOKEN": os.environ.get("TGI_INTERNAL_TOKEN") or secrets.token_urlsafe(24),
        "TGI_ROUTER_MEMORY_URL": f"http://127.0.0.1:{ports['memory']}",
        "TGI_ROUTER_DIGEST_URL": f"http://127.0.0.1:{ports['digest']}",
        # The benchmark measures latency, not the rate limit.
        "TGI_ROUTER_RATE_LIMIT_PER_S": "100000",
        "TGI_ROUTER_RATE_LIMIT_BURST": "100000",
    }
    if llm_latency_ms is not None:
        env |= {"TGI_LLM_PROVIDER": "scripted", "TGI_LLM_SCRIPTED_LATENCY_MS": str(llm_latency_ms)}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in SERVICES:
            log = (state / f"{name}.log").open("wb")
            procs[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                [sys.executable, "-m", f"services.{name}"],
                cwd=REPO,
                env={**env, f"TGI_{name.upper()}_HTTP_PORT": str(ports[name])},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_ready(procs, ports, state)
        yield ports, {name: proc.pid for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_ready(
    procs: dict[str, subprocess.Popen[bytes]], ports: dict[str, int], state: Path
) -> None:
    deadline = time.monotonic() + 180
    for name in SERVICES:
        while True:
            if procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited:\n{(state / f'{name}.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{ports[name]}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after 180 s")
            time.sleep(0.5)


async def _ingest(
    bootstrap: str, prefix: str, tenant: str, db: str, expected: int, limit: int | None
) -> dict[str, Any]:
    started = time.perf_counter()
    source = data_dir() / "tg-ru-news-channels"
    args = [str(source), "--tenant", tenant, "--bootstrap", bootstrap, "--topic-prefix", prefix]
    if limit:  # publish only the first ``limit`` posts: a file of them
        args[0] = str(_first_posts(source, limit))
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.ingest",
        *args,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = await asyncpg.connect(db)
    try:
        done = 0
        while done < expected:
            await asyncio.sleep(1.0)
            done = await conn.fetchval(
                "SELECT count(*) FROM retrieval.posts"
                " WHERE tenant_id = $1 AND indexed_at IS NOT NULL",
                tenant,
            )
            if time.perf_counter() - started > 3600:
                raise TimeoutError(f"only {done}/{expected} posts indexed after an hour")
    finally:
        await conn.close()
    seconds = time.perf_counter() - started
    return {
        "posts": expected,
        "seconds": round(seconds, 1),
        "posts_per_s": round(expected / seconds, 1),
        "cli_exit": await cli.wait(),
    }


def _first_posts(source: Path, limit: int) -> Path:
    import json

    items: list[dict[str, Any]] = []
    for path in sorted((source / "raw").glob("*_messages.json")):
        items.extend(json.loads(path.read_text(encoding="utf-8")))
        if len(items) >= limit:
            break
    out = Path(tempfile.mkdtemp()) / "0_messages.json"
    out.write_text(json.dumps(items[:limit], ensure_ascii=False), encoding="utf-8")
    return out


async def _key(dsn: str, tenant: str) -> str:
    out = io.StringIO()
    code = await key_cli.amain(
        ["--dsn", dsn, "create", "--tenant", tenant, "--user", "bench"], out=out
    )
    if code != 0:
        raise RuntimeError(f"key CLI exited {code}")
    return out.getvalue().strip()


def print_figures(figures: dict[str, Any]) -> None:
    ingest = figures.get("ingest")
    if ingest:
        print(
            f"\nDataset ingested: {ingest['posts']} posts in {ingest['seconds']} s "
            f"({ingest['posts_per_s']} posts/s)"
        )
    provider = figures.get("llm_provider", "offline")
    print_table(
        f"POST /v1/rag/query, client-side latency (ms), {provider} LLM",
        [(f"{c} concurrent client(s)", v["latency_ms"]) for c, v in figures["levels"].items()],
    )
    for c, level in figures["levels"].items():
        print(f"\n  {c} client(s): {level['requests_per_s']} req/s, statuses {level['statuses']}")
        for status, stats in level["latency_ms_by_status"].items():
            print(
                f"    {status:<10} n {stats['n']:>4}  "
                f"p50 {stats['p50']:>8} ms  p95 {stats['p95']:>8} ms"
            )
        for hop, stats in level["hops_ms"].items():
            print(f"    {hop:<10} p50 {stats['p50']:>8} ms   p95 {stats['p95']:>8} ms")
        usage = figures["per_request"][c]
        print(f"    per request: {usage}")
        if "cpu_ms_per_request" in level:
            print(f"    CPU ms per request by process: {level['cpu_ms_per_request']}")
    if figures.get("peak_rss_mb"):
        print(f"\n  peak RSS per service (MiB): {figures['peak_rss_mb']}")
    for cache, rate in figures.get("cache_hit_rate", {}).items():
        print(f"  cache {cache}: {rate}")
    target = figures["target"]
    verdict = "met" if target["met"] else "MISSED"
    print(f"\n  target p95 ≤ {target['p95_ms_at_10_clients']} ms at 10 clients: {verdict}")


def _levels(text: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in text.split(","):
        concurrency, _, count = part.partition(":")
        out[int(concurrency)] = int(count)
    return out


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=_levels, default=DEFAULT_LEVELS, metavar="C:N,...")
    parser.add_argument("--limit", type=int, help="ingest only the first N posts")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--url", help="measure this running gateway instead")
    parser.add_argument("--key", help="API key for --url")
    parser.add_argument(
        "--seed",
        type=int,
        default=11,
        help="sample of questions; change it to rerun against a --url gateway whose caches "
        "already hold the previous sample's answers",
    )
    parser.add_argument(
        "--llm-latency-ms",
        type=int,
        help="use the scripted LLM provider answering after this many ms (default: offline)",
    )
    args = parser.parse_args()
    if args.url:
        if not args.key:
            parser.error("--url needs --key")
        posts = list(channel_posts())
        questions = _questions(posts, args.requests, args.warmup, args.seed)
        figures = asyncio.run(measure(args.url, args.key, questions, args.requests, args.warmup))
    else:
        figures = asyncio.run(
            run(
                os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint"),
                os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
                os.environ.get("TGI_NEO4J_URI", "bolt://127.0.0.1:17687"),
                levels=args.requests,
                limit=args.limit,
                warmup=args.warmup,
                llm_latency_ms=args.llm_latency_ms,
            )
        )
    print_figures(figures)
    print(f"\nwritten to {write_report('bench-gateway', figures)}")


if __name__ == "__main__":
    cli()
