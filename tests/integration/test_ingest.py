"""The ingestion command against the real Kafka, read back the way another team would."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from jsonschema import Draft202012Validator

from contracts import headers as H
from tests.helpers.kafka import eventually, read_topic
from tests.unit.ingest.export_factory import write_channel_export
from tools.dataset import data_dir, dataset_files

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "telegram"
TOPIC = "posts.ingested.v1"
VALIDATOR = Draft202012Validator(
    json.loads((ROOT / "contracts" / "schemas" / f"{TOPIC}.json").read_text("utf-8")),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.ingest", *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await _start(*args)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _published(stdout: str) -> int:
    found = re.match(r"([\d,]+) posts published", stdout)
    assert found, stdout
    return int(found.group(1).replace(",", ""))


def _check(record: Any, tenant: str) -> dict[str, Any]:
    """One record as an outside consumer checks it: schema, key, headers."""
    body = json.loads(record.value)
    errors = [e.message for e in VALIDATOR.iter_errors(body)]
    assert not errors, errors
    payload = body["payload"]
    assert record.key == f"{tenant}:{payload['channel_id']}".encode()
    headers = {k: v.decode() for k, v in record.headers}
    assert headers[H.EVENT_TYPE] == "posts.ingested"
    assert headers[H.SCHEMA_VERSION] == "1"
    assert headers[H.EVENT_ID] == body["event_id"]
    assert headers[H.TENANT_ID] == tenant
    return dict(body)


async def test_exports_are_published_valid_keyed_and_recognisable_on_rerun(
    bootstrap: str, prefix: str
) -> None:
    files = [str(p) for p in sorted(FIXTURES.glob("*.json"))]
    args = [*files, "--tenant", "acme", "--topic-prefix", prefix, "--bootstrap", bootstrap]
    code, out, err = await _cli(*args, "--batch", "7")
    assert code == 0, err
    assert _published(out) == 27
    first = await read_topic(bootstrap, prefix + TOPIC, until=lambda rs: len(rs) >= 27)
    bodies = [_check(r, "acme") for r in first]
    assert len(bodies) == 27
    keys = {b["idempotency_key"] for b in bodies}
    assert len(keys) == 27
    assert "acme:-1001234567890:4:2024-12-04T09:25:30Z" in keys  # the edited channel post
    assert "acme:-1002233445566:14" in keys
    for body in bodies:
        payload = body["payload"]
        natural = f"acme:{payload['channel_id']}:{payload['message_id']}"
        assert body["idempotency_key"].startswith(natural)
        assert payload["source"] == "telegram_export"
    partitions: dict[bytes, set[int]] = {}
    for record in first:
        partitions.setdefault(record.key, set()).add(record.partition)
    assert len(partitions) == 6  # six chats …
    assert all(len(p) == 1 for p in partitions.values())  # … each on one partition

    code, out, err = await _cli(*args)
    assert code == 0, err
    both = await read_topic(bootstrap, prefix + TOPIC, until=lambda rs: len(rs) >= 54)
    runs: dict[str, list[dict[str, Any]]] = {}
    for record in both:
        body = _check(record, "acme")
        runs.setdefault(body["correlation_id"], []).append(body)
    assert len(runs) == 2
    again = next(bs for cid, bs in runs.items() if cid != bodies[0]["correlation_id"])
    assert Counter(b["idempotency_key"] for b in again) == Counter(keys)
    assert len({b["event_id"] for b in both_bodies(runs)}) == 54  # new events, same keys


def both_bodies(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [body for bodies in runs.values() for body in bodies]


async def test_dataset_files_are_published_valid(
    bootstrap: str, prefix: str, tmp_path: Path
) -> None:
    raw = data_dir() / "tg-ru-news-channels" / "raw"
    chosen = dataset_files(raw)[:2]
    for path in chosen:
        shutil.copy(path, tmp_path / path.name)
    expected = sum(len(json.loads(p.read_text("utf-8"))) for p in chosen)
    code, out, err = await _cli(
        str(tmp_path), "--tenant", "news", "--topic-prefix", prefix, "--bootstrap", bootstrap
    )
    assert code == 0, err
    assert _published(out) == expected
    records = await read_topic(bootstrap, prefix + TOPIC, until=lambda rs: len(rs) >= expected)
    bodies = [_check(r, "news") for r in records]
    assert len(bodies) == expected
    channels = {b["payload"]["channel_id"] for b in bodies}
    assert channels == {f"-{p.name.split('_')[0]}" for p in chosen}
    assert {b["payload"]["source"] for b in bodies} == {"dataset"}


async def test_ctrl_c_flushes_what_was_sent_and_reports_it(
    bootstrap: str, prefix: str, tmp_path: Path
) -> None:
    export = tmp_path / "result.json"
    posts = write_channel_export(export, 60_000)
    topic = prefix + TOPIC
    process = await _start(
        str(export), "--tenant", "acme", "--topic-prefix", prefix, "--bootstrap", bootstrap,
        "--batch", "200", "--compression", "none",
    )  # fmt: skip
    try:
        await _first_records(bootstrap, topic)
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 130, err.decode()
    assert "SIGINT: finishing the batch in flight" in err.decode()
    published = _published(out.decode())
    assert "interrupted: stopped after" in out.decode()
    assert 0 < published < posts
    # everything reported was acknowledged, and nothing else was written
    assert await _records_in(bootstrap, topic) == published


async def _first_records(bootstrap: str, topic: str, timeout_s: float = 60) -> None:
    """Return once ``topic`` exists (the CLI creates it) and holds a record.

    Subscribing earlier would let the broker auto-create it with the wrong partition count.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await eventually(lambda: _exists(admin, topic), timeout_s=timeout_s)
    finally:
        await admin.close()
    await read_topic(bootstrap, topic, until=lambda rs: len(rs) > 0, timeout_s=timeout_s)


async def _records_in(bootstrap: str, topic: str) -> int:
    """Sum of the end offsets of ``topic``'s partitions, found with the admin client (a bare
    consumer has no metadata for a topic it neither subscribed to nor was assigned)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    parts = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    assert len(parts) == 6  # created from the registry, not auto-created with one
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()


async def _exists(admin: AIOKafkaAdminClient, topic: str) -> bool:
    return topic in await admin.list_topics()
