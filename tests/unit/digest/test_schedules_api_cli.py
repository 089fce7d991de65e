"""The schedule REST API and CLI over the fake store: CRUD scoped to a tenant, clear errors
for bad input (window, cadence, time zone) with nothing written."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from servicekit.clock import ManualClock
from services.digest.schedules import api
from services.digest.schedules.cli import run_cli
from services.digest.schedules.manage import Schedules
from tests.unit.digest.schedule_fakes import FakeScheduleStore

pytestmark = pytest.mark.unit
NOW = datetime(2024, 12, 3, 12, 0, tzinfo=UTC)
BODY: dict[str, Any] = {
    "user_id": "u1",
    "name": "weekly",
    "kind": "channel",
    "channels": ["naked_science"],
    "period_days": 7,
    "cadence": "weekly mon 09:00",
    "timezone": "Europe/Moscow",
}


def _client(store: FakeScheduleStore) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(api.build_router(Schedules(store, ManualClock(NOW))))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://digest")


async def test_crud_is_scoped_to_the_tenant() -> None:
    store = FakeScheduleStore()
    async with _client(store) as http:
        created = await http.post("/v1/schedules", params={"tenant_id": "acme"}, json=BODY)
        assert created.status_code == 201, created.text
        s = created.json()
        assert s["cadence"] == "weekly mon 09:00"
        assert s["next_due_at"] == "2024-12-09T06:00:00Z"
        assert s["enabled"] is True
        sid = s["schedule_id"]
        again = await http.post("/v1/schedules", params={"tenant_id": "acme"}, json=BODY)
        assert again.status_code == 409
        assert "already has a schedule named 'weekly'" in again.json()["detail"]
        listed = await http.get("/v1/schedules", params={"tenant_id": "acme"})
        assert [x["schedule_id"] for x in listed.json()["items"]] == [sid]
        theirs = await http.get("/v1/schedules", params={"tenant_id": "other"})
        assert theirs.json() == {"items": []}
        assert (
            await http.get(f"/v1/schedules/{sid}", params={"tenant_id": "other"})
        ).status_code == 404
        off = await http.patch(
            f"/v1/schedules/{sid}", params={"tenant_id": "acme"}, json={"enabled": False}
        )
        assert off.status_code == 200
        assert off.json()["enabled"] is False
        bad_patch = await http.patch(
            f"/v1/schedules/{sid}", params={"tenant_id": "acme"}, json={"cadence": "every 1h"}
        )
        assert bad_patch.status_code == 422
        gone = await http.delete(f"/v1/schedules/{sid}", params={"tenant_id": "other"})
        assert gone.status_code == 404
        gone = await http.delete(f"/v1/schedules/{sid}", params={"tenant_id": "acme"})
        assert gone.status_code == 204
        assert (
            await http.get(f"/v1/schedules/{sid}", params={"tenant_id": "acme"})
        ).status_code == 404
        assert (
            await http.get("/v1/schedules/not-a-uuid", params={"tenant_id": "acme"})
        ).status_code == 422
        assert (await http.get("/v1/schedules")).status_code == 422  # no tenant, no answer
    assert store.rows == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"period_days": 14}, "Input should be 1, 7 or 30"),
        ({"cadence": "*/5 * * * *"}, "bad cadence"),
        ({"timezone": "Moscow"}, "unknown time zone 'Moscow'"),
        ({"kind": "group"}, "a group digest needs window_hours"),
    ],
)
async def test_bad_input_is_422_with_a_message_and_nothing_written(
    changes: dict[str, Any], message: str
) -> None:
    store = FakeScheduleStore()
    async with _client(store) as http:
        r = await http.post("/v1/schedules", params={"tenant_id": "acme"}, json={**BODY, **changes})
    assert r.status_code == 422
    assert message in json.dumps(r.json())
    assert store.rows == {}


async def cli(store: FakeScheduleStore, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    schedules = Schedules(store, ManualClock(NOW))
    code = await run_cli(list(argv), schedules=schedules, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


ADD = (
    "add", "--tenant", "acme", "--user", "u1", "--name", "evening",
    "--channels", "chat_1,-1001101170442", "--window", "6h", "--cadence", "daily 18:00,23:00",
    "--tz", "Asia/Yekaterinburg",
)  # fmt: skip


async def test_cli_add_list_disable_enable_remove() -> None:
    store = FakeScheduleStore()
    code, out, err = await cli(store, *ADD)
    assert (code, err) == (0, "")
    [s] = store.rows.values()
    assert (s.kind, s.window_hours, s.period_days) == ("group", 6, None)
    assert s.channels == ["chat_1", "-1001101170442"]
    assert s.next_due_at == datetime(2024, 12, 3, 13, 0, tzinfo=UTC)  # 18:00 UTC+5
    assert s.schedule_id in out
    assert "daily 18:00,23:00 (Asia/Yekaterinburg)" in out
    code, out, _ = await cli(store, "--json", "list", "--tenant", "acme")
    assert code == 0
    assert json.loads(out)[0]["schedule_id"] == s.schedule_id
    code, out, _ = await cli(store, "list", "--tenant", "other")
    assert (code, out) == (0, "0 schedules\n")
    code, out, _ = await cli(store, "disable", "--tenant", "acme", s.schedule_id)
    assert code == 0
    assert "disabled" in out
    assert not store.rows[s.schedule_id].enabled
    code, out, _ = await cli(store, "enable", "--tenant", "acme", s.schedule_id)
    assert code == 0
    assert store.rows[s.schedule_id].enabled
    code, _, err = await cli(store, *ADD)
    assert code == 1
    assert "already has a schedule named 'evening'" in err
    code, _, err = await cli(store, "remove", "--tenant", "other", s.schedule_id)
    assert code == 1
    assert "has no schedule" in err
    code, out, _ = await cli(store, "remove", "--tenant", "acme", s.schedule_id)
    assert (code, out) == (0, f"removed {s.schedule_id}\n")
    code, _, err = await cli(store, "enable", "--tenant", "acme", str(uuid.uuid4()))
    assert code == 1
    assert store.rows == {}


async def test_cli_takes_negative_chat_ids_as_separate_arguments() -> None:
    store = FakeScheduleStore()
    argv = [*ADD[: ADD.index("--channels") + 1], "-1001101170442", "-1001237513492", "x_y,z"]
    argv += ADD[ADD.index("--channels") + 2 :]
    code, _, err = await cli(store, *argv, "--kind", "group")
    assert (code, err) == (0, "")
    [s] = store.rows.values()
    assert s.channels == ["-1001101170442", "-1001237513492", "x_y", "z"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--window", "14d"), "unknown window '14d'"),
        (("--window", "week"), "unknown window 'week'"),
        (("--kind", "channel"), "a channel digest needs period_days"),
        (("--cadence", "0 18 * * *"), "bad cadence '0 18 * * *'"),
        (("--tz", "Asia/Ekaterinburg"), "timezone: unknown time zone 'Asia/Ekaterinburg'"),
        (("--channels", ","), "channels: List should have at least 1 item"),
        (("--tenant", "no spaces please"), "String should match pattern"),
    ],
)
async def test_cli_bad_input_exits_2_and_writes_nothing(
    change: tuple[str, str], message: str
) -> None:
    store = FakeScheduleStore()
    argv = list(ADD)
    if change[0] in argv:
        argv[argv.index(change[0]) + 1] = change[1]
    else:
        argv += change
    code, out, err = await cli(store, *argv)
    assert code == 2, err
    assert message in err
    assert "nothing written" in err
    assert out == ""
    assert store.rows == {}
