"""The router app composed with fakes, and HTTP helpers for its REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from faststream.kafka import KafkaBroker, TestKafkaBroker

from servicekit.app import ServiceApp
from servicekit.clock import ManualClock
from servicekit.llm import LLMClient
from servicekit.settings import load_settings
from services.router.app import RouterDeps, RouterHandles, build_app
from services.router.auth import keys
from services.router.settings import RouterSettings
from tests.unit.router.fakes import (
    T0,
    FakeEpisodes,
    FakeKeys,
    FakeRetriever,
    FakeRouter,
    FakeRuns,
    FakeSmart,
    FakeTurns,
)

JWT_SECRET = "unit-test-secret-of-at-least-32-characters!"
PREFIX = "u."


@dataclass
class World:
    """Every fake the app runs on, plus what tests need to reach it."""

    keys: FakeKeys = field(default_factory=FakeKeys)
    runs: FakeRuns = field(default_factory=FakeRuns)
    turns: FakeTurns = field(default_factory=FakeTurns)
    retriever: FakeRetriever = field(default_factory=FakeRetriever)
    smart: FakeSmart = field(default_factory=FakeSmart)
    router: FakeRouter = field(default_factory=FakeRouter)
    episodes: FakeEpisodes = field(default_factory=FakeEpisodes)
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    llm: LLMClient | None = None
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)

    async def key(self, tenant: str = "acme", user: str = "alice") -> str:
        """A new API key of ``tenant``/``user``."""
        new = keys.generate()
        await self.keys.create(new.key_id, new.digest, tenant_id=tenant, user_id=user, name="t")
        return new.key


def settings(**overrides: Any) -> RouterSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap": "127.0.0.1:1",
        "topic_prefix": PREFIX,
        "postgres_dsn": "postgresql://nobody@127.0.0.1:1/none",
        "handler_retry_base_s": 0.0,
        "jwt_secret": JWT_SECRET,
        "memory_url": None,
    }
    values.update(overrides)
    return load_settings(RouterSettings, **values)


def compose(world: World, **overrides: Any) -> ServiceApp:
    deps = RouterDeps(
        keys=world.keys,
        runs=world.runs,
        turns=world.turns,
        router=world.router,
        llm=world.llm,
        retriever=world.retriever,
        smart=world.smart,
        episodes=world.episodes,
    )
    app = build_app(settings(**overrides), deps, clock=world.clock)

    @app.kit.broker.subscriber(PREFIX + "lifecycle.v1")
    async def lifecycle(body: dict[str, Any]) -> None:
        world.lifecycle.append(body)

    @app.kit.broker.subscriber(PREFIX + "queries.answered.v1")
    async def answered(body: dict[str, Any]) -> None:
        world.answered.append(body)

    return app


@asynccontextmanager
async def client(app: ServiceApp) -> AsyncIterator[tuple[httpx.AsyncClient, KafkaBroker]]:
    """An HTTP client on the app, with its broker replaced by FastStream's in-memory one."""
    async with TestKafkaBroker(app.kit.broker) as broker:
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            yield http, broker


def handles(app: ServiceApp) -> RouterHandles:
    assert isinstance(app.deps, RouterHandles)
    return app.deps


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
