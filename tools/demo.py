"""The main job (``make run``): publish sample posts and show them flowing through the services.

At this stage of the platform the services validate, log and record each event; the demo
publishes a few real posts of the shipped dataset on ``posts.ingested.v1`` and prints the
lifecycle events the services emit for them, as they arrive, then the gateway's address.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import make_envelope
from servicekit.publisher import envelope_headers
from tools.dataset import channel_posts

TENANT = "demo"


async def main(count: int, bootstrap: str, timeout_s: float) -> int:
    posts = list(itertools.islice(channel_posts(), count))
    # Read the whole lifecycle topic and keep only the events caused by our posts: simple, and
    # immune to partition-assignment races.
    follower = AIOKafkaConsumer(
        "lifecycle.v1", bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await follower.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        print(f"publishing {len(posts)} posts of tg-ru-news-channels to posts.ingested.v1 …")
        ids = set()
        for post in posts:
            env = make_envelope(
                post,
                event_type="posts.ingested",
                schema_version=1,
                producer="demo@0.1.0",
                tenant_id=TENANT,
                idempotency_key=f"{TENANT}:{post.channel_id}:{post.message_id}",
            )
            ids.add(env.event_id)
            await producer.send_and_wait(
                "posts.ingested.v1",
                env.model_dump_json().encode(),
                key=f"{TENANT}:{post.channel_id}".encode(),
                headers=[(k, v.encode()) for k, v in envelope_headers(env).items()],
            )
            print(f"  → {post.channel_title} #{post.message_id}: {post.text[:60]!r}")
        print("\nlifecycle events (service · kind · domain · cause):")
        done: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while done != ids and time.monotonic() < deadline:
            batch = await follower.getmany(timeout_ms=500)
            for record in itertools.chain.from_iterable(batch.values()):
                event = json.loads(record.value)
                body = event["payload"]
                cause = event.get("causation_id")
                if cause not in ids:
                    continue
                print(f"  ← {body['service']:<9} {body['kind']:<13} {body['domain']:<10} {cause}")
                if cause in ids and body["kind"] == "run_completed":
                    done.add(cause)
        print(f"\n{len(done)}/{len(ids)} posts reached the retrieval service and were recorded.")
        print("Gateway (router): http://127.0.0.1:8080  (OpenAPI at /docs, /health, /metrics)")
        return 0 if done == ids else 1
    finally:
        await producer.stop()
        await follower.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.count, args.bootstrap, args.timeout)))


if __name__ == "__main__":
    cli()
