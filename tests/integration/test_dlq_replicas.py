"""Two DLQ replicas on one table: a thousand due entries, none re-published twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.dlq.domain.states import Status
from tests.helpers.kafka import eventually
from tests.unit.dlq.letters import dead_letter
from tests.unit.dlq.live import (
    dlq_settings,
    entries,
    parts,
    produce_envelopes,
    read_all,
    retries_by_entry,
    running_dlq,
)

pytestmark = pytest.mark.integration
POSTS = "posts.ingested.v1"
ENTRIES = 1000


async def test_two_replicas_never_publish_an_entry_twice(
    bootstrap: str, prefix: str, pg_dsn: str
) -> None:
    # small batches and fast polls, so both schedulers keep competing for the same rows
    def settings(instance: str):  # type: ignore[no-untyped-def]
        return dlq_settings(
            bootstrap,
            prefix,
            pg_dsn,
            instance_id=instance,
            retry_base_s=1.0,
            batch_size=20,
            poll_interval_s=0.005,
            lease_s=10,
            publish_timeout_s=2,
        )

    async with running_dlq(settings("r1")) as one, running_dlq(settings("r2")) as two:
        failed_at = datetime.now(UTC)
        letters = [
            dead_letter(prefix=prefix, offset=i, failed_at=failed_at) for i in range(ENTRIES)
        ]
        await produce_envelopes(bootstrap, prefix + "deadletter.v1", letters)

        async def all_published() -> bool:
            found = await entries(one, statuses=(Status.RETRYING,))
            return len(found) == ENTRIES and all(e.published_at for e in found)

        await eventually(all_published, timeout_s=90)
        await asyncio.sleep(1.0)
        by_replica = [
            parts(app).metrics.retries_published.labels(topic=POSTS)._value.get()
            for app in (one, two)
        ]
        conflicts = [
            parts(app).metrics.lease_conflicts.labels(kind=kind)._value.get()
            for app in (one, two)
            for kind in ("expired_takeover", "lost_before_confirm")
        ]
    records = await read_all(bootstrap, prefix + POSTS)
    counts = retries_by_entry(records)
    assert len(counts) == ENTRIES
    assert max(counts.values()) == 1, counts.most_common(3)
    assert len(records) == ENTRIES
    assert sum(by_replica) == ENTRIES
    assert min(by_replica) > 0, by_replica  # both replicas really took part
    assert conflicts == [0, 0, 0, 0]
