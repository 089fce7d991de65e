"""The store behaviour suite against the in-memory fake (the same suite runs on Postgres)."""

from __future__ import annotations

import pytest

from tests.unit.dlq.fakes import MemoryStore
from tests.unit.dlq.store_contract import *  # noqa: F403 - the shared suite
from tests.unit.dlq.store_contract import Stores

pytestmark = pytest.mark.unit


@pytest.fixture
def stores() -> Stores:
    store = MemoryStore()
    return Stores(retry=store, ops=store)
