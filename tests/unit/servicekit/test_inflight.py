"""Polls in flight: commits in poll order, rewinds on a failed poll, bounded, drained."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from servicekit.inflight import InFlight

pytestmark = pytest.mark.unit

T = "retrieval.requested.v1"


class Committer:
    """Records what the in-flight window commits and where it rewinds."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: dict[TopicPartition, int] = {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks[partition] = offset

    def committed(self) -> dict[TopicPartition, int]:
        out: dict[TopicPartition, int] = {}
        for c in self.commits:
            out.update(c)
        return out


def records(partition: int, *offsets: int) -> list[ConsumerRecord[Any, Any]]:
    return [ConsumerRecord(T, partition, o, 0, 0, None, b"", None, 0, 0, []) for o in offsets]


def tp(partition: int) -> TopicPartition:
    return TopicPartition(T, partition)


class Gate:
    """A poll's processing that finishes (with a given outcome) when the test says so."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self._open = asyncio.Event()
        self.ok = True

    def release(self, ok: bool = True) -> None:
        self.ok = ok
        self._open.set()

    async def __call__(self) -> bool:
        self.started.set()
        await self._open.wait()
        return self.ok


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_later_poll_is_processed_while_an_earlier_one_runs() -> None:
    window, committer = InFlight(4, name=T), Committer()
    first, second = Gate(), Gate()
    await window.submit(committer, records(0, 10, 11), first)
    await window.submit(committer, records(0, 12), second)
    await settle()
    assert first.started.is_set()
    assert second.started.is_set()
    assert window.pending == 2


async def test_offsets_are_committed_only_behind_every_earlier_poll() -> None:
    window, committer = InFlight(4, name=T), Committer()
    first, second, third = Gate(), Gate(), Gate()
    await window.submit(committer, records(0, 10, 11), first)
    await window.submit(committer, records(1, 5), second)
    await window.submit(committer, records(0, 12), third)
    second.release()
    third.release()
    await settle()
    assert committer.commits == []  # the first poll still runs: nothing after it is committed
    first.release()
    await settle()
    assert committer.committed() == {tp(0): 13, tp(1): 6}
    assert window.pending == 0


async def test_the_window_is_bounded() -> None:
    window, committer = InFlight(2, name=T), Committer()
    gates = [Gate(), Gate(), Gate()]
    await window.submit(committer, records(0, 1), gates[0])
    await window.submit(committer, records(0, 2), gates[1])
    third = asyncio.create_task(window.submit(committer, records(0, 3), gates[2]))
    await settle()
    assert not third.done()  # waits for the oldest poll
    assert not gates[2].started.is_set()
    gates[0].release()
    await settle()
    assert third.done()
    assert gates[2].started.is_set()
    assert committer.committed() == {tp(0): 2}


async def test_a_failed_poll_rewinds_to_the_earliest_uncommitted_record() -> None:
    window, committer = InFlight(4, name=T), Committer()
    done, failing, later = Gate(), Gate(), Gate()
    await window.submit(committer, records(0, 1, 2), done)
    await window.submit(committer, records(0, 3, 4), failing)
    await window.submit(committer, records(1, 7), later)
    done.release()
    failing.release(ok=False)
    await settle()
    assert committer.committed() == {tp(0): 3}
    assert committer.seeks == {}  # the rewind waits for the polls around the failed one
    later.release()
    await settle()
    # Nothing past the failed poll was committed, on any partition; both are read again.
    assert committer.committed() == {tp(0): 3}
    assert committer.seeks == {tp(0): 3, tp(1): 7}
    assert window.pending == 0


async def test_a_poll_arriving_after_a_failure_is_not_processed_but_read_again() -> None:
    window, committer = InFlight(4, name=T), Committer()
    failing, running, never = Gate(), Gate(), Gate()
    await window.submit(committer, records(0, 3), failing)
    await window.submit(committer, records(0, 4), running)
    failing.release(ok=False)
    await settle()
    arriving = asyncio.create_task(window.submit(committer, records(2, 9), never))
    await settle()
    assert not arriving.done()  # waits for the rewind
    running.release()
    await settle()
    assert arriving.done()
    assert not never.started.is_set()
    assert committer.seeks == {tp(0): 3, tp(2): 9}
    assert committer.commits == []


async def test_an_exception_counts_as_a_failed_poll() -> None:
    window, committer = InFlight(2, name=T), Committer()

    async def broken() -> bool:
        raise RuntimeError("bug")

    await window.submit(committer, records(0, 8), broken)
    await settle()
    assert committer.seeks == {tp(0): 8}
    assert committer.commits == []


async def test_drain_waits_for_the_polls_in_flight_and_commits_them() -> None:
    window, committer = InFlight(4, name=T), Committer()
    gate = Gate()
    await window.submit(committer, records(0, 20), gate)
    draining = asyncio.create_task(window.drain(committer))
    await settle()
    assert not draining.done()
    gate.release()
    await draining
    assert committer.committed() == {tp(0): 21}


def test_the_limit_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlight(0, name=T)
