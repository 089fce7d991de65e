"""The main job (``make run``): the shipped sample ingested, indexed, asked and trending.

1. ``tools.ingest`` publishes every post of ``tg-ru-news-channels`` for tenant ``demo``;
2. the retrieval service indexes them into Postgres, Qdrant and Neo4j (progress from its
   ``/metrics``), the trend service clusters them as they are announced;
3. a question is answered by hybrid retrieval over Kafka request/reply, with citations;
4. the trends the trend service detected are printed;
5. where the gateway and the logs are.

Re-running is cheap: already indexed posts are skipped as unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any, ClassVar

import httpx
from aiokafka import AIOKafkaConsumer
from pydantic_settings import SettingsConfigDict

from contracts.v1.retrieval import RetrieveDocuments
from servicekit.app import ServiceKit
from servicekit.settings import ServiceSettings, load_settings
from services.retrieval.settings import RetrievalSettings
from tools.dataset import channel_posts, data_dir
from tools.report import REPO

TENANT = "demo"
QUESTIONS = ("Что нашли в Китае учёные?", "Что сказал Путин о ключевой ставке?")
RETRIEVAL_METRICS = "http://127.0.0.1:8081/metrics"
TREND_METRICS = "http://127.0.0.1:8083/metrics"


class DemoSettings(ServiceSettings):
    """The demo's own Kafka client identity."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_DEMO_")
    service_name: ClassVar[str] = "demo"


def ingest(bootstrap: str) -> None:
    print("1. ingesting the shipped sample (tools.ingest) …", flush=True)
    done = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "tools.ingest",
            str(data_dir() / "tg-ru-news-channels"),
            "--tenant",
            TENANT,
            "--bootstrap",
            bootstrap,
            "--compression",
            "none",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    print("   " + done.stdout.strip().replace("\n", "\n   "))


async def follow(
    title: str, url: str, metric: str, outcomes: tuple[str, ...], expected: int, timeout_s: float
) -> None:
    """Print a service's progress from its /metrics until ``expected`` posts went through."""
    print(title, flush=True)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                text = (await client.get(url)).text
            except httpx.HTTPError as exc:  # a service busy with a big batch answers late
                print(f"   (waiting for {url}: {exc.__class__.__name__})", flush=True)
                if time.monotonic() - started > timeout_s:
                    return
                await asyncio.sleep(5)
                continue
            seen = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(metric + "{") and any(f'outcome="{o}"' in line for o in outcomes)
            )
            rate = seen / max(time.monotonic() - started, 1e-9)
            print(f"   {int(seen)}/{expected} posts ({rate:.0f} posts/s)", flush=True)
            if seen >= expected or time.monotonic() - started > timeout_s:
                return
            await asyncio.sleep(5)


async def ask(bootstrap: str) -> None:
    print("\n3. questions (hybrid retrieval over Kafka request/reply):")
    kit = ServiceKit(
        load_settings(
            DemoSettings, kafka_bootstrap=bootstrap, consumer_group=f"demo-{uuid.uuid4().hex[:6]}"
        )
    )
    rpc = kit.rpc()
    await kit.start()
    try:
        for question in QUESTIONS:
            env = kit.publisher.envelope(
                RetrieveDocuments(
                    request_id=uuid.uuid4().hex, query=question, domain="qa", top_k=3
                ),
                topic="retrieval.requested.v1",
                tenant_id=TENANT,
            )
            reply = (await rpc.request(env, timeout_s=20)).payload
            print(f"\n   ❓ {question}   ({reply.took_ms} ms, legs {', '.join(reply.legs_run)})")
            for n, doc in enumerate(reply.documents, 1):
                snippet = " ".join(doc.text.split())[:110]
                source = doc.channel_title or doc.channel_id
                print(f"   [{n}] {source}, {doc.date:%Y-%m-%d}: {snippet}")
                print(f"       {doc.permalink or doc.post_id}")
    finally:
        await kit.stop()


async def trends(bootstrap: str) -> None:
    print("\n4. trends detected while indexing (trend.detected.v1):")
    consumer = AIOKafkaConsumer(
        "trend.detected.v1",
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: dict[str, dict[str, Any]] = {}
    try:
        for _ in range(6):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if event["tenant_id"] == TENANT and not event["payload"].get("request_id"):
                        found[event["payload"]["trend_id"]] = event["payload"]
    finally:
        await consumer.stop()
    top = sorted(found.values(), key=lambda t: -float(t["burst_score"]))[:8]
    for trend in top:
        print(f"   • [{trend['kind']}] {trend['headline'][:100]}")
        print(
            f"     {len(trend['channels'])} channels, burst {float(trend['burst_score']):.1f}: "
            f"{trend['why_now'][:110]}"
        )
    if not top:
        print("   (none yet — the trend service announces stories as their bursts are confirmed)")


async def index_built(timeout_s: float) -> None:
    """Wait (saying so) while the embedded Qdrant shard builds its vector index after the
    import: it holds the retrieval service for a few seconds, better before the questions."""
    threshold = RetrievalSettings.model_fields["edge_optimize_min_points"].default
    started = time.monotonic()
    said = False
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() - started < timeout_s:
            try:
                text = (await client.get(RETRIEVAL_METRICS)).text
            except httpx.HTTPError:  # busy optimising: it answers once done
                text = ""
            pending = [
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("retrieval_edge_unoptimized_points ")
            ]
            if text and (not pending or pending[0] < threshold):
                if said:
                    print(f"   vector index built ({time.monotonic() - started:.0f} s)", flush=True)
                return
            if not said:
                print("   building the vector index (once writing pauses) …", flush=True)
                said = True
            await asyncio.sleep(2)


async def main(bootstrap: str, timeout_s: float) -> int:
    ingest(bootstrap)
    expected = sum(1 for _ in channel_posts())
    await follow(
        "\n2. indexing into Postgres, Qdrant, Neo4j (retrieval /metrics) …",
        RETRIEVAL_METRICS,
        "retrieval_posts_indexed_total",
        ("written", "unchanged"),
        expected,
        timeout_s,
    )
    await index_built(120)
    await ask(bootstrap)
    await follow(
        "\n   the trend service catching up on posts.indexed.v1 (trend /metrics) …",
        TREND_METRICS,
        "trend_posts_processed_total",
        ("clustered", "duplicate", "ignored"),
        expected,
        300,
    )
    await trends(bootstrap)
    print("\n5. gateway (router): http://127.0.0.1:8080  — OpenAPI at /docs; /health, /metrics")
    print("   logs: .state/logs/<service>.log · status: make status · stop: make down")
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for indexing")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.bootstrap, args.timeout)))


if __name__ == "__main__":
    cli()
