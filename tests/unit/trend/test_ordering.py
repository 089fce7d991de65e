"""Event-time ordering across partitions with a watermark."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.trend.domain.ordering import Reorderer
from tests.unit.trend.factories import T0

pytestmark = pytest.mark.unit


def _at(minutes: int) -> object:
    return T0 + timedelta(minutes=minutes)


def test_posts_wait_for_every_live_partition_then_come_out_in_event_time_order() -> None:
    r: Reorderer[str] = Reorderer(idle_after_s=10)
    r.offer(0, T0 + timedelta(minutes=30), "a30", "a30", now=0.0)
    r.offer(0, T0 + timedelta(minutes=50), "a50", "a50", now=0.0)
    r.offer(1, T0 + timedelta(minutes=10), "b10", "b10", now=1.0)
    assert r.release(now=1.0) == ["b10"]  # partition 1 is at minute 10
    r.offer(1, T0 + timedelta(minutes=40), "b40", "b40", now=2.0)
    assert r.release(now=2.0) == ["a30", "b40"]
    assert r.release(now=20.0) == ["a50"]  # partition 1 went quiet: let go


def test_expected_partitions_hold_until_heard_or_idle() -> None:
    r: Reorderer[str] = Reorderer(idle_after_s=10)
    r.expect([0, 1], now=0.0)
    r.offer(0, T0, "a", "a", now=5.0)  # joining the group took 5 s: not quiet time
    assert r.release(now=5.0) == []
    assert r.release(now=14.0) == []
    assert r.release(now=15.5) == ["a"]


def test_repeated_keys_are_held_once() -> None:
    r: Reorderer[str] = Reorderer(idle_after_s=10)
    assert r.offer(None, T0, "k", "first", now=0.0)
    assert not r.offer(None, T0, "k", "again", now=0.0)
    assert r.release(now=0.0) == ["first"]
    assert len(r) == 0
