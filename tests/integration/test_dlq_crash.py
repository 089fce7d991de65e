"""The DLQ service as a process, SIGKILLed while entries are due: each is retried once after."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from servicekit.postgres import PostgresResource
from services.dlq.adapters.pg_retry import PgRetryStore
from tests.conftest import ROOT
from tests.helpers.kafka import eventually
from tests.unit.dlq.letters import dead_letter
from tests.unit.dlq.live import produce_envelopes, read_all, retries_by_entry

pytestmark = pytest.mark.integration
POSTS = "posts.ingested.v1"
ENTRIES = 40
GHOSTS = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DlqProcess:
    """``python -m services.dlq`` with its own port and log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.dlq"],
                cwd=ROOT,
                env={**os.environ, **env, "TGI_DLQ_HTTP_PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def ready(self) -> None:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while True:
                if self.proc.poll() is not None:
                    pytest.fail(f"dlq exited:\n{self.log.read_text()[-3000:]}")
                try:
                    if (await http.get(self.url("/ready"), timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"dlq not ready:\n{self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def spawned() -> Iterator[list[DlqProcess]]:
    procs: list[DlqProcess] = []
    yield procs
    for p in procs:
        p.stop()


async def test_sigkilled_while_entries_are_due_each_is_retried_once_after_restart(
    bootstrap: str, prefix: str, pg_dsn: str, tmp_path: Path, spawned: list[DlqProcess]
) -> None:
    base_s, lease_s = 1.0, 2.0
    env = {
        "TGI_KAFKA_BOOTSTRAP": bootstrap,
        "TGI_POSTGRES_DSN": pg_dsn,
        "TGI_TOPIC_PREFIX": prefix,
        "TGI_LOG_JSON": "true",
        "TGI_DLQ_RETRY_BASE_S": str(base_s),
        "TGI_DLQ_RETRY_JITTER": "0",
        "TGI_DLQ_LEASE_S": str(lease_s),
        "TGI_DLQ_PUBLISH_TIMEOUT_S": "1",
        "TGI_DLQ_STATS_INTERVAL_S": "0.5",
        # the first life's scheduler makes one (empty) pass at start, then sleeps through the
        # time the entries fall due: it dies with due work and nothing in flight
        "TGI_DLQ_POLL_INTERVAL_S": "60",
    }
    first = DlqProcess(env, tmp_path / "dlq-1.log")
    spawned.append(first)
    await first.ready()

    failed_at = datetime.now(UTC)
    letters = [dead_letter(prefix=prefix, offset=i, failed_at=failed_at) for i in range(ENTRIES)]
    await produce_envelopes(bootstrap, prefix + "deadletter.v1", letters)
    db = PostgresResource(pg_dsn, schema="dlq", migrations=None, max_size=2)
    await db.start()
    try:
        await eventually(lambda: _stored(db, prefix, ENTRIES), timeout_s=30)
        # another replica leased some of them and died before publishing: its leases must
        # expire before anyone publishes those entries, and then they go out once too
        ghost = await PgRetryStore(lambda: db.pool).lease_due(
            owner="ghost",
            now=failed_at + timedelta(seconds=base_s),
            lease_s=lease_s,
            limit=GHOSTS,
            topic_prefix=prefix,
        )
        assert len(ghost) == GHOSTS
        await asyncio.sleep(max(0.0, (failed_at - datetime.now(UTC)).total_seconds() + base_s))
        first.kill()  # every entry is due now
        assert await read_all(bootstrap, prefix + POSTS, settle_s=0.5) == []

        second = DlqProcess({**env, "TGI_DLQ_POLL_INTERVAL_S": "0.05"}, tmp_path / "dlq-2.log")
        spawned.append(second)
        await second.ready()

        async def all_published() -> bool:
            records = await read_all(bootstrap, prefix + POSTS, settle_s=0.3)
            return len(retries_by_entry(records)) == ENTRIES

        await eventually(all_published, timeout_s=60)
        await asyncio.sleep(2 * lease_s)  # long enough for any wrong second publication
        records = await read_all(bootstrap, prefix + POSTS)
        rows = await db.pool.fetch(
            "SELECT id, status, deliveries, published_at FROM dlq.dlq_events"
            " WHERE starts_with(original_topic, $1)",
            prefix,
        )
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(second.url("/metrics"))).text
    finally:
        await db.close()
    counts = retries_by_entry(records)
    assert sorted(counts) == sorted(str(r["id"]) for r in rows)
    assert set(counts.values()) == {1}, counts
    assert len(records) == ENTRIES
    assert {(r["status"], r["deliveries"]) for r in rows} == {("retrying", 2)}
    assert all(r["published_at"] is not None for r in rows)
    assert f'tgi_dlq_lease_conflicts_total{{kind="expired_takeover"}} {float(GHOSTS)}' in metrics


async def _stored(db: PostgresResource, prefix: str, n: int) -> bool:
    try:
        count = await db.pool.fetchval(
            "SELECT count(*) FROM dlq.dlq_events WHERE starts_with(original_topic, $1)", prefix
        )
    except Exception:  # the table appears when the service has migrated
        return False
    return bool(count == n)
