"""The chaos tier: what each fault test measured goes to ``reports/chaos.json`` when
``TGI_CHAOS_REPORT=1`` (``make test`` leaves the committed report alone); figures of tests
not run this time are kept."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tools.report import REPO, write_report


@pytest.fixture(scope="session")
def chaos_report() -> Iterator[dict[str, Any]]:
    """A dict each test adds its figures to, under its own key."""
    figures: dict[str, Any] = {}
    yield figures
    if figures and os.environ.get("TGI_CHAOS_REPORT") == "1":
        # merge: a run of some of the tests keeps the others' last figures
        path = REPO / "reports" / "chaos.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        kept = {k: v for k, v in known.items() if k not in {"target", "measured_at", "machine"}}
        write_report("chaos", {**kept, **figures})
