"""The dlq use cases wired to fakes, for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry

from servicekit.clock import ManualClock
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.intake import Intake
from services.dlq.metrics import DlqMetrics, build_dlq_metrics
from services.dlq.operator import Operator
from services.dlq.resolution import Resolution
from services.dlq.scheduler import Scheduler
from tests.unit.dlq.fakes import FakeEpisodes, FakePublisher, MemoryStore
from tests.unit.dlq.letters import T0

PREFIX = "u."


@dataclass
class Rig:
    """Use cases on one in-memory store."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    store: MemoryStore = field(default_factory=MemoryStore)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    episodes: FakeEpisodes = field(default_factory=FakeEpisodes)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(base_s=60, max_attempts=3))
    rand: float = 0.0

    def __post_init__(self) -> None:
        self.metrics: DlqMetrics = build_dlq_metrics(self.registry)
        self.intake = Intake(
            self.store,
            self.episodes,
            self.metrics,
            policy=self.policy,
            prefix=PREFIX,
            clock=self.clock,
            rand=lambda: self.rand,
        )
        self.scheduler = self.make_scheduler("replica-1")
        self.resolution = Resolution(self.store, self.metrics, prefix=PREFIX, clock=self.clock)
        self.operator = Operator(
            self.store,
            self.episodes,
            self.metrics,
            policy=self.policy,
            prefix=PREFIX,
            clock=self.clock,
        )

    def make_scheduler(self, owner: str, publisher: FakePublisher | None = None) -> Scheduler:
        return Scheduler(
            self.store,
            publisher or self.publisher,
            self.metrics,
            owner=owner,
            prefix=PREFIX,
            clock=self.clock,
            poll_interval_s=0.01,
            batch_size=100,
            lease_s=60,
            publish_retry_s=5,
            stats_interval_s=10,
        )

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0
