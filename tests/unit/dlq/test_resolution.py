"""Resolution from raw lifecycle records: only run_completed naming an entry touches the store."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from contracts.envelope import make_envelope
from contracts.v1.lifecycle import LifecycleEvent
from services.dlq.domain.resolution import resolved_entry_id
from services.dlq.domain.states import Status
from tests.unit.dlq.letters import POSTS, T0, dead_letter
from tests.unit.dlq.wiring import Rig

pytestmark = pytest.mark.unit
ENTRY = "01939000-0000-7000-8000-000000000000"


def _event(kind: Any, details: dict[str, Any]) -> bytes:
    env = make_envelope(
        LifecycleEvent(run_id="r1", kind=kind, service="probe", domain="x", details=details),
        event_type="lifecycle",
        schema_version=1,
        producer="probe@0",
        tenant_id="acme",
    )
    return env.model_dump_json().encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (_event("run_completed", {"dlq_entry_id": ENTRY}), ENTRY),
        (_event("run_completed", {"dlq_entry_id": ENTRY.upper()}), ENTRY),
        (_event("error", {"dlq_entry_id": ENTRY}), None),
        (_event("run_completed", {}), None),
        (_event("run_completed", {"dlq_entry_id": "nope"}), None),
        (_event("run_completed", {"dlq_entry_id": 5}), None),
        (b'garbage "dlq_entry_id"', None),
        (b'["dlq_entry_id"]', None),
        (b'{"payload": {"kind": "run_completed", "details": ["dlq_entry_id"]}}', None),
        (b"[" * 50_000 + b'"dlq_entry_id"', None),
        (b"", None),
        (None, None),
    ],
)
def test_only_run_completed_with_an_entry_id_counts(value: bytes | None, expected: str) -> None:
    assert resolved_entry_id(value) == expected


def test_ordinary_events_are_skipped_without_parsing() -> None:
    # not JSON at all, but without the marker it is never parsed
    assert resolved_entry_id(b"{" * 10 + b'"kind": "run_completed"') is None
    doc = json.loads(_event("run_completed", {"items": 3}))
    assert doc["payload"]["kind"] == "run_completed"


async def test_success_of_a_retry_resolves_its_entry_once() -> None:
    rig = Rig()
    await rig.intake.accept([dead_letter()])
    rig.at(T0 + timedelta(seconds=60))
    await rig.scheduler.run_once()
    entry_id = next(iter(rig.store.rows))
    done = _event("run_completed", {"dlq_entry_id": entry_id})
    await rig.resolution.accept([done, done, _event("run_started", {})])
    await rig.resolution.accept([done])
    assert rig.store.rows[entry_id].summary.status is Status.RESOLVED
    assert rig.metric("tgi_dlq_resolved_total", topic=POSTS) == 1
    assert rig.metric("tgi_dlq_lifecycle_events_total", outcome="ignored") == 2


async def test_other_lifecycle_events_never_reach_the_store() -> None:
    rig = Rig()
    rig.store.unavailable = 1_000_000  # any store call would wait forever
    await rig.resolution.accept([_event("run_started", {}), _event("error", {"x": 1}), b"junk"])
