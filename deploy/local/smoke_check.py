"""Smoke-check the local infra started by deploy/local/infra.sh.

Usage:  .venv/bin/python deploy/local/smoke_check.py [kafka] [postgres] [neo4j]

Reads TGI_KAFKA_BOOTSTRAP / TGI_POSTGRES_DSN / TGI_NEO4J_URI (defaults = infra.sh defaults).
Kafka: produce+consume one small message on a fresh topic, then one 5 MB message.
Postgres: asyncpg round trip on the tgint database. Neo4j: RETURN 1 + a write/read.
Exit status 0 only if every requested check passed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid

# auto-created topics make aiokafka log transient "not found" errors; keep the output clean
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

KAFKA = os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG_DSN = os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint")
NEO4J = os.environ.get("TGI_NEO4J_URI", "bolt://127.0.0.1:17687")
BIG = 5 * 1024 * 1024


async def _roundtrip(topic: str, payload: bytes) -> float:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    t0 = time.monotonic()
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        md = await producer.send_and_wait(topic, payload, key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        group_id=f"smoke-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), timeout=60)
    finally:
        await consumer.stop()
    assert msg.value == payload, "payload mismatch"
    assert (msg.partition, msg.offset) == (md.partition, md.offset)
    return time.monotonic() - t0


async def check_kafka() -> str:
    topic = f"smoke-{uuid.uuid4().hex[:10]}"
    small = await _roundtrip(topic, b"hello")
    big = await _roundtrip(topic + "-big", os.urandom(BIG))
    return f"small msg round trip {small:.2f} s, 5 MB msg round trip {big:.2f} s"


async def check_postgres() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        db = await conn.fetchval("SELECT current_database()")
        ver = await conn.fetchval("SHOW server_version")
        await conn.execute("CREATE TEMP TABLE smoke (id int primary key, v text)")
        await conn.execute("INSERT INTO smoke VALUES (1, 'x')")
        assert await conn.fetchval("SELECT v FROM smoke WHERE id = 1") == "x"
    finally:
        await conn.close()
    return f"db={db} server {ver}"


def check_neo4j() -> str:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(NEO4J, auth=None) as driver:
        driver.verify_connectivity()
        with driver.session() as s:
            assert s.run("RETURN 1 AS x").single(strict=True)["x"] == 1
            tag = uuid.uuid4().hex
            s.run("CREATE (:Smoke {tag: $t})", t=tag).consume()
            q = "MATCH (n:Smoke {tag: $t}) RETURN count(n) AS c"
            n = s.run(q, t=tag).single(strict=True)["c"]
            s.run("MATCH (n:Smoke {tag: $t}) DELETE n", t=tag).consume()
            assert n == 1
            info = driver.get_server_info()
    return f"{info.agent} protocol {info.protocol_version}"


def main(argv: list[str]) -> int:
    wanted = argv or ["kafka", "postgres", "neo4j"]
    checks = {
        "kafka": lambda: asyncio.run(check_kafka()),
        "postgres": lambda: asyncio.run(check_postgres()),
        "neo4j": check_neo4j,
    }
    failed = 0
    for name in wanted:
        try:
            print(f"{name}: OK - {checks[name]()}")
        except Exception as exc:
            failed += 1
            print(f"{name}: FAILED - {type(exc).__name__}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
