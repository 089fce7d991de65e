"""tgi_consumer_lag_messages: uncommitted messages of a consumer group, from the broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import generate_latest

from contracts.envelope import Envelope
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from tests.helpers.kafka import eventually, produce
from tests.helpers.kit import post_envelope, probe_settings, running, wire

pytestmark = pytest.mark.integration
POSTS = "posts.ingested.v1"


async def test_lag_counts_what_the_group_has_not_committed(bootstrap: str, prefix: str) -> None:
    release = asyncio.Event()
    handled: list[str] = []
    kit = ServiceKit(probe_settings(bootstrap, prefix), lag_interval_s=0.5)

    async def handle(envelope: Envelope[Any], ctx: MessageContext) -> None:
        await release.wait()  # hold the first message: nothing gets committed
        handled.append(envelope.event_id)

    kit.consume(POSTS, handle)
    sampler = kit.lag_sampler()
    envelopes = [post_envelope(i) for i in range(1, 6)]
    for env in envelopes:
        value, headers = wire(env)
        await produce(bootstrap, prefix + POSTS, value, key=b"acme:x", headers=headers)
    async with running(kit):
        # Once partitions are assigned, all five are behind (none committed yet).
        assert await eventually(lambda: _sampled(sampler, 5), timeout_s=30)
        release.set()
        await eventually(lambda: len(handled) == 5, timeout_s=30)
        assert await eventually(lambda: _sampled(sampler, 0), timeout_s=30)
        # The background sampler feeds /metrics as well.
        await eventually(
            lambda: (
                b'tgi_consumer_lag_messages{topic="posts.ingested.v1"} 0.0'
                in generate_latest(kit.metrics.registry)
            ),
            timeout_s=10,
        )
    assert handled == [e.event_id for e in envelopes]


async def _sampled(sampler: Any, want: int) -> bool:
    lag: dict[str, int] = await sampler.sample()
    return lag == {POSTS: want}
