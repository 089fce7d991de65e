"""Fixtures shared by every tier. Servers come from deploy/local (``make test`` starts them)."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.helpers import auth  # noqa: F401  # sets TGI_INTERNAL_TOKEN before any settings load

ROOT = Path(__file__).resolve().parent.parent


def _infra_env() -> dict[str, str]:
    keys = ("TGI_KAFKA_BOOTSTRAP", "TGI_POSTGRES_DSN", "TGI_NEO4J_URI")
    if all(k in os.environ for k in keys):
        return {k: os.environ[k] for k in keys}
    out = subprocess.run(
        [str(ROOT / "deploy/local/infra.sh"), "env"], capture_output=True, text=True, check=True
    ).stdout
    env = {}
    for line in out.splitlines():
        line = line.removeprefix("export ").strip()
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v.strip("'\"")
    return env


def _port_open(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def infra() -> dict[str, str]:
    """Addresses of the real servers; fails clearly when they are not running."""
    env = _infra_env()
    if not _port_open(env["TGI_KAFKA_BOOTSTRAP"]):
        pytest.fail(
            f"Kafka is not reachable at {env['TGI_KAFKA_BOOTSTRAP']}: "
            "run the tests with `make test`, or start the servers with `deploy/local/infra.sh up`"
        )
    return env


@pytest.fixture(scope="session")
def bootstrap(infra: dict[str, str]) -> str:
    return infra["TGI_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
async def pg_dsn(infra: dict[str, str]) -> AsyncIterator[str]:
    """A database of its own for this test session, dropped at the end."""
    admin_dsn = infra["TGI_POSTGRES_DSN"]
    name = f"tgint_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_dsn.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


#: Topic prefixes handed out in this test session; their topics are deleted at its end.
USED_PREFIXES: list[str] = []


def new_prefix(stem: str = "t") -> str:
    """A topic and consumer-group prefix unique to one test; its topics go at session end."""
    value = f"{stem}{uuid.uuid4().hex[:10]}."
    USED_PREFIXES.append(value)
    return value


@pytest.fixture
def prefix() -> str:
    """A topic and consumer-group prefix unique to one test."""
    return new_prefix()


@pytest.fixture(scope="session", autouse=True)
async def _delete_test_topics() -> AsyncIterator[None]:
    """Delete the topics this session's tests created, so a long-lived local broker does not
    collect thousands of them (each slows its controller and start-up)."""
    yield
    if not USED_PREFIXES:
        return
    bootstrap = _infra_env().get("TGI_KAFKA_BOOTSTRAP", "")
    if not bootstrap or not _port_open(bootstrap):
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        await admin.start()
        prefixes = tuple(USED_PREFIXES)
        doomed = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        for start in range(0, len(doomed), 200):
            await admin.delete_topics(doomed[start : start + 200], timeout_ms=30_000)
    except Exception as exc:  # clean-up only: never fail the run for it
        print(f"\nnote: could not delete test topics: {exc!r}")
    finally:
        await admin.close()
