"""Pure memory logic: episodes from envelopes, cursors, months, the retention plan."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.memory.domain import cursor as cursors
from services.memory.domain.episode import (
    Cursor,
    EpisodeFilter,
    UnstorableEpisode,
    from_envelope,
    retention_cutoff,
    unique,
)
from services.memory.domain.partitions import DEFAULT_PARTITION, Month, plan_retention
from tests.unit.memory.factories import T0, episode, lifecycle

pytestmark = pytest.mark.unit


def test_episode_from_envelope_takes_tenant_and_time_from_the_envelope() -> None:
    env = lifecycle(tenant="t1", run_id="r9", kind="error", details={"error_class": "X"})
    e = from_envelope(env)
    assert (e.event_id, e.tenant_id, e.run_id, e.kind) == (env.event_id, "t1", "r9", "error")
    assert e.occurred_at == env.occurred_at
    assert e.details == {"error_class": "X"}


@pytest.mark.parametrize(
    "field",
    [
        {"run_id": "r\x00"},
        {"domain": "d\x00"},
        {"user_id": "u\x00"},
        {"details": {"k": "v\x00"}},
        {"details": {"k\x00": 1}},
        {"details": {"k": [{"deep": "\x00"}]}},
    ],
)
def test_nul_characters_are_unstorable(field: dict[str, object]) -> None:
    with pytest.raises(UnstorableEpisode, match="NUL"):
        from_envelope(lifecycle(**field))  # type: ignore[arg-type]


def test_unique_keeps_first_of_each_key_in_order() -> None:
    a, b = episode(), episode()
    assert unique([a, b, a, b, a]) == [a, b]


def test_filter_refuses_limits_out_of_range() -> None:
    with pytest.raises(ValueError, match="limit"):
        EpisodeFilter(tenant_id="a", limit=0)
    with pytest.raises(ValueError, match="limit"):
        EpisodeFilter(tenant_id="a", limit=5000)


def test_cursor_round_trips_and_is_bound_to_its_order() -> None:
    c = Cursor(T0 + timedelta(microseconds=123), "01958a1c-0000-7000-8000-000000000001")
    text = cursors.encode(c, "newest")
    assert cursors.decode(text, "newest") == c
    assert "=" not in text
    with pytest.raises(cursors.BadCursor, match="another listing"):
        cursors.decode(text, "oldest")


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x" * 200,
        "!!!not-base64!!!",
        _b64("n1:abc:01958a1c-0000-7000-8000-000000000001"),
        _b64("n1:1:not-a-uuid-but-36-characters-long!!"),
        _b64("n1:999999999999999999:01958a1c-0000-7000-8000-000000000001"),
        _b64("zz:1:01958a1c-0000-7000-8000-000000000001"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_bad_cursors_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(cursors.BadCursor):
        cursors.decode(text, "newest")


def test_month_arithmetic_and_names() -> None:
    m = Month(2024, 12)
    assert m.shift(1) == Month(2025, 1)
    assert m.shift(-12) == Month(2023, 12)
    assert m.start == datetime(2024, 12, 1, tzinfo=UTC)
    assert m.end == datetime(2025, 1, 1, tzinfo=UTC)
    assert m.table == "episodes_p202412"
    assert Month.parse("episodes_p202412") == m
    assert Month.parse(DEFAULT_PARTITION) is None
    assert Month.parse("episodes_p202413") is None
    # 2025-01-01 01:00 in Moscow is still December in UTC: months are UTC months.
    moscow = datetime(2025, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    assert Month.of(moscow) == Month(2024, 12)


def test_plan_drops_whole_months_trims_the_boundary_and_creates_ahead() -> None:
    now = datetime(2025, 6, 15, 10, 0, tzinfo=UTC)
    cutoff = retention_cutoff(now, 90)  # 2025-03-17 10:00
    existing = [Month(2025, m) for m in range(1, 7)]
    plan = plan_retention(now=now, cutoff=cutoff, existing=existing, ahead=2)
    assert plan.cutoff == datetime(2025, 3, 17, 10, 0, tzinfo=UTC)
    assert plan.drop == [Month(2025, 1), Month(2025, 2)]
    assert plan.trim == ["episodes_p202503", DEFAULT_PARTITION]
    assert plan.create == [Month(2025, 7), Month(2025, 8)]


def test_plan_on_an_empty_table_creates_from_the_cutoff_month() -> None:
    now = datetime(2025, 6, 15, tzinfo=UTC)
    plan = plan_retention(now=now, cutoff=retention_cutoff(now, 90), existing=[], ahead=1)
    assert plan.drop == []
    assert plan.create == [Month(2025, m) for m in (3, 4, 5, 6, 7)]
    assert plan.trim == ["episodes_p202503", DEFAULT_PARTITION]


def test_plan_with_cutoff_on_a_month_boundary_trims_only_the_default() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    cutoff = datetime(2025, 3, 1, tzinfo=UTC)
    plan = plan_retention(
        now=now, cutoff=cutoff, existing=[Month(2025, 2), Month(2025, 3)], ahead=1
    )
    assert plan.drop == [Month(2025, 2)]
    assert plan.trim == [DEFAULT_PARTITION]


def test_plan_refuses_a_future_cutoff() -> None:
    with pytest.raises(ValueError, match="future"):
        plan_retention(now=T0, cutoff=T0 + timedelta(seconds=1), existing=[], ahead=1)
