"""A consumer killed before it committed loses nothing; request/reply over a real broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import Envelope
from servicekit.app import ServiceKit
from servicekit.consumer import MessageContext
from servicekit.rpc import RequestTimeout
from tests.conftest import ROOT
from tests.helpers.kafka import committed_offset, eventually, produce
from tests.helpers.kit import post_envelope, probe_settings, running, wire

pytestmark = pytest.mark.integration
POSTS = "posts.ingested.v1"


def _spawn(bootstrap: str, prefix: str, marker: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.probe_process", bootstrap, prefix, str(marker), mode],
        cwd=ROOT,
        env={**os.environ, "TGI_LOG_JSON": "true"},
    )


async def test_sigkill_before_commit_redelivers_after_restart(
    bootstrap: str, prefix: str, tmp_path: Path
) -> None:
    marker = tmp_path / "marker.txt"
    marker.touch()
    env = post_envelope()
    first = _spawn(bootstrap, prefix, marker, "hang")
    try:
        await eventually(lambda: "ready" in marker.read_text(), timeout_s=60)
        value, headers = wire(env)
        await produce(bootstrap, prefix + POSTS, value, headers=headers)
        await eventually(lambda: f"start {env.event_id}" in marker.read_text(), timeout_s=60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert await committed_offset(bootstrap, prefix + "probe", prefix + POSTS) <= 0
    second = _spawn(bootstrap, prefix, marker, "fast")
    try:
        await eventually(lambda: f"done {env.event_id}" in marker.read_text(), timeout_s=90)
        await eventually(
            lambda: _is(committed_offset(bootstrap, prefix + "probe", prefix + POSTS), 1),
            timeout_s=30,
        )
    finally:
        second.terminate()
        second.wait(30)
    lines = marker.read_text().splitlines()
    assert lines.count(f"done {env.event_id}") == 1


async def _is(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_request_reply_over_kafka(bootstrap: str, prefix: str) -> None:
    responder = ServiceKit(probe_settings(bootstrap, prefix, consumer_group="responder"))

    async def answer(envelope: Envelope[Any], ctx: MessageContext) -> None:
        assert ctx.reply_to
        reply = responder.publisher.envelope(
            envelope.payload,
            topic=POSTS,
            tenant_id=envelope.tenant_id,
            causation=envelope,
        )
        await responder.publisher.publish(reply, physical_topic=ctx.reply_to)

    responder.consume(POSTS, answer)
    requester = ServiceKit(probe_settings(bootstrap, prefix, consumer_group="requester"))
    client = requester.rpc()
    async with running(responder), running(requester):
        request = post_envelope(7)
        reply = await client.request(request, timeout_s=20)
        assert reply.causation_id == request.event_id
        assert reply.payload.message_id == 7
        # the second round trip is the warm one
        request2 = post_envelope(8)
        reply2 = await client.request(request2, timeout_s=5)
        assert reply2.payload.message_id == 8


async def test_request_without_responder_times_out(bootstrap: str, prefix: str) -> None:
    requester = ServiceKit(probe_settings(bootstrap, prefix, consumer_group="requester"))
    client = requester.rpc()
    async with running(requester):
        with pytest.raises(RequestTimeout):
            await client.request(post_envelope(), timeout_s=0.5)
    await asyncio.sleep(0)
