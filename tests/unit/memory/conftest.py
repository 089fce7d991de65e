"""Fixtures of the memory unit tests."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from services.memory.metrics import MemoryMetrics, build_memory_metrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> MemoryMetrics:
    return build_memory_metrics(registry)
