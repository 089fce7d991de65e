"""Chaos helpers: services as killable processes, paced streams, and store counts.

Each service runs in a session of its own (``start_new_session``), so ``kill`` sends SIGKILL to
the whole process group: the retrieval service's analysis workers die with it, as they would
when a container is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import Envelope, make_envelope
from contracts.v1.posts import PostIngested
from servicekit.publisher import envelope_headers
from tests.conftest import ROOT

MAX_BYTES = 16 * 1024 * 1024
SERVICES = ("memory", "dlq", "retrieval", "trend", "digest", "router")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Fleet:
    """Service processes on one topic prefix and database, started, killed and restarted."""

    env: dict[str, str]
    logs: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def log_text(self, service: str) -> str:
        return (self.logs / f"{service}.log").read_text(errors="replace")

    def start(self, service: str) -> None:
        """Start ``service`` (again, on the same port); output is appended to its log."""
        port = self.ports.setdefault(service, free_port())
        env = {
            **self.env,
            **self.extra_env.get(service, {}),
            f"TGI_{service.upper()}_HTTP_PORT": str(port),
        }
        with (self.logs / f"{service}.log").open("ab") as out:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self, service: str, timeout_s: float = 180.0) -> float:
        """Seconds until ``/ready`` answers 200; raises with the log tail on failure."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=3) as http:
            while True:
                proc = self.procs[service]
                if proc.poll() is not None:
                    raise RuntimeError(f"{service} exited:\n{self.log_text(service)[-3000:]}")
                try:
                    if (await http.get(self.url(service, "/ready"))).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                if time.monotonic() - started > timeout_s:
                    raise TimeoutError(f"{service} not ready:\n{self.log_text(service)[-3000:]}")
                await asyncio.sleep(0.25)

    async def start_all(self, services: Iterable[str] = SERVICES) -> None:
        names = list(services)
        for name in names:
            self.start(name)
        for name in names:
            await self.wait_ready(name)

    def kill(self, service: str) -> None:
        """SIGKILL the service's whole process group and reap it."""
        proc = self.procs[service]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self, service: str, timeout_s: float = 30.0) -> None:
        """SIGTERM (graceful), SIGKILL after ``timeout_s``."""
        proc = self.procs[service]
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill(service)

    async def close(self) -> None:
        """Stop every service, then delete the fleet's topics."""
        await asyncio.to_thread(self.stop_all)
        await delete_topics(self.env["TGI_KAFKA_BOOTSTRAP"], self.env["TGI_TOPIC_PREFIX"])

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name in list(self.procs):
            self.stop(name)


def fleet_env(
    *, bootstrap: str, pg_dsn: str, neo4j_uri: str, prefix: str, state: Path
) -> dict[str, str]:
    """The environment every service of a chaos fleet shares."""
    return {
        **os.environ,
        "TGI_KAFKA_BOOTSTRAP": bootstrap,
        "TGI_POSTGRES_DSN": pg_dsn,
        "TGI_TOPIC_PREFIX": prefix,
        "TGI_LOG_JSON": "true",
        "TGI_RETRIEVAL_QDRANT_EDGE_PATH": str(state / "qdrant-edge"),
        "TGI_NEO4J_URI": neo4j_uri,
        "TGI_RETRIEVAL_NEO4J_URI": neo4j_uri,
        # the DLQ retries quickly, so retryable failures settle within a test
        "TGI_DLQ_RETRY_BASE_S": "1",
        "TGI_HANDLER_RETRY_BASE_S": "0.05",
        # the machine running the suite may be busy: give servers time to answer at start
        "TGI_STARTUP_TIMEOUT_S": "180",
    }


def wire(envelope: Envelope[Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
    return envelope.model_dump_json().encode(), [
        (k, v.encode()) for k, v in envelope_headers(envelope).items()
    ]


def ingested(post: PostIngested, tenant: str, producer: str = "tests@0") -> Envelope[Any]:
    """``post`` as the ``posts.ingested.v1`` envelope an ingester of ``tenant`` would send."""
    return make_envelope(
        post,
        event_type="posts.ingested",
        schema_version=1,
        producer=producer,
        tenant_id=tenant,
    )


class Producer:
    """One long-lived producer for a stream (the test's side of the bus)."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            max_request_size=MAX_BYTES,
            linger_ms=5,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=30_000,
            retry_backoff_ms=200,
        )

    async def __aenter__(self) -> Producer:
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def send_envelope(self, topic: str, envelope: Envelope[Any], key: str) -> tuple[int, int]:
        value, headers = wire(envelope)
        return await self.send_raw(topic, value, key=key.encode(), headers=headers)

    async def send_post(
        self,
        prefix: str,
        tenant: str,
        post: PostIngested,
        *,
        producer: str = "tests@0",
        key: str | None = None,
    ) -> None:
        """Publish ``post`` for ``tenant`` on ``posts.ingested.v1`` under ``prefix``, keyed by
        tenant and channel as the ingester keys it (or by ``key``)."""
        await self.send_envelope(
            prefix + "posts.ingested.v1",
            ingested(post, tenant, producer),
            key=key or f"{tenant}:{post.channel_id}",
        )

    async def send_raw(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> tuple[int, int]:
        """Send and wait for the acknowledgement (retrying while the broker is away);
        returns the record's partition and offset."""
        deadline = time.monotonic() + 120
        while True:
            try:
                meta = await self._producer.send_and_wait(
                    topic, value, key=key, headers=headers or []
                )
                return int(meta.partition), int(meta.offset)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


async def read_all(bootstrap: str, topic: str, *, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    """Every record of ``topic`` up to its current end, as decoded JSON (non-JSON skipped)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_BYTES,
        fetch_max_bytes=MAX_BYTES,
    )
    await consumer.start()
    docs: list[dict[str, Any]] = []
    try:
        parts = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        if not parts:
            return docs
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        deadline = time.monotonic() + timeout_s
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: could not read to the end in {timeout_s} s")
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    try:
                        docs.append(json.loads(record.value))
                    except (ValueError, RecursionError):  # other tests' poison
                        continue
    finally:
        await consumer.stop()
    return docs


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (none when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        int(p["partition"])
        for t in described
        if t.get("error_code", 0) == 0
        for p in t.get("partitions", ())
    )


async def committed(bootstrap: str, group: str, topic: str, partition: int) -> int:
    """The committed offset of ``group`` on one partition (-1 when none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, partition))
    return int(meta.offset) if meta is not None else -1


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic under ``prefix`` (a test's topics must not pile up in the broker);
    best effort: a broker that is down leaves them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await admin.start()
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except Exception as exc:
        print(f"could not delete the topics of {prefix}: {exc!r}")
    finally:
        await admin.close()


async def eventually(
    check: Any, *, timeout_s: float, interval_s: float = 1.0, what: str = "condition"
) -> Any:
    """Await ``check()`` until it returns a truthy value; TimeoutError names ``what``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not met in {timeout_s} s (last: {last!r})")
        await asyncio.sleep(interval_s)


def secrets_in(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Names of the secrets whose value occurs in ``text``."""
    return [name for name, value in secrets.items() if value and value in text]
