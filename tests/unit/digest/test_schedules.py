"""Schedules over fakes, on a manual clock: validation with the contract's rules, firing
(one slot, deterministic ids, the user's persona), the loop (once per slot, missed slots
collapsed, a failed publish stays due, a crash before the commit re-publishes the same ids,
two claimers fire once, disabled schedules never fire) and the lag gauge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from servicekit.clock import ManualClock
from services.digest.errors import ScheduleExists
from services.digest.metrics import build_digest_metrics
from services.digest.schedules.loop import LoopParams, ScheduleLoop
from services.digest.schedules.manage import Schedules
from services.digest.schedules.model import ScheduleSpec, fire, slot_run_id
from tests.unit.digest.schedule_fakes import FakeRequests, FakeScheduleStore

pytestmark = pytest.mark.unit
T = "acme"
START = datetime(2024, 12, 3, 12, 0, tzinfo=UTC)  # Moscow 15:00


def spec(**changes: Any) -> ScheduleSpec:
    values: dict[str, Any] = {
        "user_id": "u1",
        "name": "morning",
        "kind": "channel",
        "channels": ["naked_science", "-1001101170442"],
        "period_days": 1,
        "cadence": "daily 08:00",
        "timezone": "Europe/Moscow",
    }
    values.update(changes)
    return ScheduleSpec.model_validate(values)


class Rig:
    def __init__(self, *, batch: int = 100) -> None:
        self.clock = ManualClock(START)
        self.store = FakeScheduleStore()
        self.requests = FakeRequests()
        self.registry = CollectorRegistry()
        self.metrics = build_digest_metrics(self.registry).schedules
        self.schedules = Schedules(self.store, self.clock)
        self.loop = self.new_loop(batch=batch)

    def new_loop(self, *, batch: int = 100, requests: FakeRequests | None = None) -> ScheduleLoop:
        return ScheduleLoop(
            self.store,
            requests or self.requests,
            self.metrics,
            self.clock,
            LoopParams(interval_s=30, batch_size=batch, publish_timeout_s=1),
        )

    def value(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"period_days": 14}, "Input should be 1, 7 or 30"),
        ({"period_days": None, "window_hours": 6}, "a channel digest needs period_days"),
        ({"kind": "group"}, "a group digest needs window_hours"),
        ({"kind": "group", "period_days": None, "window_hours": 5}, "4, 6, 12 or 24"),
        ({"cadence": "0 8 * * *"}, "bad cadence"),
        ({"timezone": "Europe/Moskva"}, "unknown time zone 'Europe/Moskva'"),
        ({"channels": []}, "at least 1 item"),
        ({"channels": ["a", "a"]}, "items must be unique"),
        ({"channels": ["bad channel"]}, "String should match pattern"),
        ({"name": "has space"}, "String should match pattern"),
        ({"owner": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_specs_are_refused_with_a_message(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(**changes)


async def test_nothing_is_written_for_bad_input_and_names_are_unique() -> None:
    rig = Rig()
    with pytest.raises(ValidationError):
        await rig.schedules.add("bad tenant!", spec())
    assert rig.store.rows == {}
    await rig.schedules.add(T, spec())
    with pytest.raises(ScheduleExists):
        await rig.schedules.add(T, spec(cadence="every 6h"))
    await rig.schedules.add(T, spec(user_id="u2"))  # another user may use the name
    await rig.schedules.add("other", spec())  # another tenant too
    assert len(rig.store.rows) == 3


async def test_a_new_schedule_is_due_at_its_first_slot_after_now() -> None:
    rig = Rig()
    s = await rig.schedules.add(T, spec())
    assert s.next_due_at == datetime(2024, 12, 4, 5, 0, tzinfo=UTC)  # 08:00 Moscow
    assert s.cadence == "daily 08:00"


# -- firing --------------------------------------------------------------------------------


async def test_fire_is_deterministic_and_carries_user_persona_and_window() -> None:
    rig = Rig()
    s = await rig.schedules.add(T, spec(formats=["markdown", "telegram_html"]))
    now = datetime(2024, 12, 4, 5, 0, 20, tzinfo=UTC)
    a, b = fire(s, now), fire(s, now + timedelta(seconds=40))
    assert a == b  # another replica, or a retry a bit later: the same request
    slot = datetime(2024, 12, 4, 5, 0, tzinfo=UTC)
    assert a.slot == slot
    assert a.run_id == slot_run_id(s.schedule_id, slot) == f"sched-{s.schedule_id}-20241204T050000Z"
    assert a.command.until == slot
    assert a.command.user_id == "u1"
    assert a.command.persona_id == "u1"  # the user's own persona (the batch stores it so)
    assert a.command.period_days == 1
    assert a.command.formats == ["markdown", "telegram_html"]
    assert a.next_due_at == datetime(2024, 12, 5, 5, 0, tzinfo=UTC)
    assert a.missed == 0
    other = await rig.schedules.add(T, spec(name="evening", persona_id="analyst"))
    assert fire(other, now).command.persona_id == "analyst"
    assert fire(other, now).event_id != a.event_id


# -- the loop ------------------------------------------------------------------------------


async def test_due_schedule_fires_once_per_slot() -> None:
    rig = Rig()
    s = await rig.schedules.add(T, spec())
    assert await rig.loop.run_once() == 0  # not due yet
    rig.clock.set(datetime(2024, 12, 4, 5, 0, 1, tzinfo=UTC))
    assert await rig.loop.run_once() == 1
    assert await rig.loop.run_once() == 0  # the same slot never twice
    rig.clock.advance(3600)
    assert await rig.loop.run_once() == 0
    [p] = rig.requests.published
    assert p.tenant_id == T
    assert p.command.run_id == f"sched-{s.schedule_id}-20241204T050000Z"
    assert p.occurred_at == datetime(2024, 12, 4, 5, 0, tzinfo=UTC)
    row = rig.store.rows[s.schedule_id]
    assert row.next_due_at == datetime(2024, 12, 5, 5, 0, tzinfo=UTC)
    assert row.last_run_id == p.command.run_id
    assert rig.value("digest_schedules_due_total") == 1
    assert rig.value("digest_schedules_fired_total", kind="channel") == 1
    rig.clock.set(datetime(2024, 12, 5, 5, 0, tzinfo=UTC))  # exactly the next slot
    assert await rig.loop.run_once() == 1
    assert [q.command.until for q in rig.requests.published][-1] == rig.clock.now()


async def test_missed_slots_run_once_for_the_latest() -> None:
    rig = Rig()
    s = await rig.schedules.add(
        T, spec(cadence="every 6h", kind="group", period_days=None, window_hours=6)
    )
    assert s.next_due_at == datetime(2024, 12, 3, 15, 0, tzinfo=UTC)  # 18:00 Moscow
    rig.clock.set(datetime(2024, 12, 5, 4, 0, tzinfo=UTC))  # down ~37 h: 7 slots passed
    assert await rig.loop.run_once() == 1
    [p] = rig.requests.published
    assert p.command.until == datetime(2024, 12, 5, 3, 0, tzinfo=UTC)  # 06:00 Moscow
    assert p.command.window_hours == 6
    assert rig.value("digest_schedule_slots_missed_total") == 6
    assert rig.store.rows[s.schedule_id].next_due_at == datetime(2024, 12, 5, 9, 0, tzinfo=UTC)
    assert await rig.loop.run_once() == 0


async def test_failed_publish_stays_due_and_is_retried_with_the_same_ids() -> None:
    rig = Rig()
    s = await rig.schedules.add(T, spec())
    good = await rig.schedules.add(T, spec(name="other"))
    rig.clock.set(datetime(2024, 12, 4, 5, 1, tzinfo=UTC))
    run_id = fire(s, rig.clock.now()).run_id
    rig.requests.fail.add(run_id)
    assert await rig.loop.run_once() == 2
    assert [p.command.user_id for p in rig.requests.published] == ["u1"]  # only `good`
    assert rig.store.rows[good.schedule_id].next_due_at > rig.clock.now()
    assert rig.store.rows[s.schedule_id].next_due_at <= rig.clock.now()  # still due
    assert rig.value("digest_schedule_publish_failures_total") == 1
    assert await rig.loop.refresh_lag() == 60.0
    assert rig.value("digest_schedule_lag_seconds") == 60.0
    rig.requests.fail.clear()
    rig.clock.advance(30)
    assert await rig.loop.run_once() == 1
    assert rig.requests.published[-1].command.run_id == run_id
    assert rig.value("digest_schedule_lag_seconds") == 0.0


async def test_crash_between_publish_and_commit_republishes_the_same_event() -> None:
    rig = Rig()
    s = await rig.schedules.add(T, spec())
    rig.clock.set(datetime(2024, 12, 4, 5, 0, 5, tzinfo=UTC))
    rig.store.fail_next_advance = True
    with pytest.raises(ConnectionResetError):
        await rig.loop.run_once()
    assert rig.store.commits == 0
    assert rig.store.rows[s.schedule_id].next_due_at <= rig.clock.now()  # nothing lost
    rig.clock.advance(30)  # the next tick, maybe on another replica
    assert await rig.loop.run_once() == 1
    first, again = rig.requests.published
    assert (first.event_id, first.command) == (again.event_id, again.command)
    assert first.occurred_at == again.occurred_at
    assert rig.value("digest_schedules_fired_total", kind="channel") == 1  # counted once


async def test_two_claimers_fire_a_slot_once() -> None:
    rig = Rig()
    for n in range(3):
        await rig.schedules.add(T, spec(name=f"s{n}"))
    rig.clock.set(datetime(2024, 12, 4, 6, 0, tzinfo=UTC))
    gate = asyncio.Event()
    slow = FakeRequests(gate=gate)
    first = asyncio.create_task(rig.new_loop(requests=slow).run_once())
    await asyncio.sleep(0)  # the first claim holds all three, publishing
    second = await rig.new_loop(requests=slow).run_once()
    gate.set()
    assert (await first, second) == (3, 0)
    assert len(slow.published) == 3
    assert await rig.new_loop(requests=slow).run_once() == 0


async def test_a_full_claim_is_followed_by_another_at_once() -> None:
    rig = Rig(batch=2)
    for n in range(3):
        await rig.schedules.add(T, spec(name=f"s{n}"))
    rig.clock.set(datetime(2024, 12, 4, 6, 0, tzinfo=UTC))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            raise asyncio.CancelledError

    loop = ScheduleLoop(
        rig.store, rig.requests, rig.metrics, rig.clock, LoopParams(batch_size=2), sleep=sleep
    )
    with pytest.raises(asyncio.CancelledError):
        await loop.run()
    assert rig.store.claims == [2, 1]  # no pause between a full claim and the next
    assert sleeps == [30.0]
    assert len(rig.requests.published) == 3


async def test_disabled_schedule_never_fires_and_enabling_skips_what_it_slept_through() -> None:
    rig = Rig()
    s = await rig.schedules.add(T, spec(enabled=False))
    rig.clock.set(datetime(2024, 12, 6, 5, 30, tzinfo=UTC))
    assert await rig.loop.run_once() == 0
    assert rig.requests.published == []
    assert await rig.loop.refresh_lag() == 0.0
    enabled = await rig.schedules.set_enabled(T, s.schedule_id, True)
    assert enabled is not None
    assert enabled.next_due_at == datetime(2024, 12, 7, 5, 0, tzinfo=UTC)
    assert await rig.loop.run_once() == 0
    # enabling an enabled schedule does not move it
    assert await rig.schedules.set_enabled(T, s.schedule_id, True) == enabled
    disabled = await rig.schedules.set_enabled(T, s.schedule_id, False)
    assert disabled is not None
    assert not disabled.enabled
    rig.clock.set(datetime(2024, 12, 8, tzinfo=UTC))
    assert await rig.loop.run_once() == 0
    assert await rig.schedules.set_enabled("other", s.schedule_id, True) is None
