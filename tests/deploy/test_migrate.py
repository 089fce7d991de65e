"""``python -m tools.migrate`` (the Helm migrations job and the Compose ``migrate`` service)
against the real Postgres: applies every service's migrations once, then nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest

from contracts.spec import SERVICES
from tests.deploy.settings_names import ROOT
from tools.migrate import migrations_of
from tools.scratch import scratch_database

pytestmark = pytest.mark.integration


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TGI_POSTGRES_DSN"}
    return subprocess.run(
        [sys.executable, "-m", "tools.migrate", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_applies_every_migration_once(infra: dict[str, str]) -> None:
    # A database of its own: the session's shared one may already hold other tests' schemas.
    async with scratch_database(infra["TGI_POSTGRES_DSN"], "migrate") as pg_dsn:
        await _applies_every_migration_once(pg_dsn)


async def _applies_every_migration_once(pg_dsn: str) -> None:
    first = _run("--dsn", pg_dsn)
    assert first.returncode == 0, first.stderr
    expected = {s: sorted(p.stem for p in migrations_of(s).glob("*.sql")) for s in SERVICES}
    lines = dict(line.split(": ", 1) for line in first.stdout.splitlines())
    for service, versions in expected.items():
        assert lines[service] == (", ".join(versions) if versions else "up to date")
    conn = await asyncpg.connect(pg_dsn)
    try:
        for service, versions in expected.items():
            rows = await conn.fetch(
                f"SELECT version FROM {service}.schema_migrations ORDER BY version"
            )
            assert [r["version"] for r in rows] == versions
    finally:
        await conn.close()
    second = _run("--dsn", pg_dsn)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [f"{s}: up to date" for s in SERVICES]


def test_fails_clearly_without_postgres() -> None:
    out = _run("--dsn", "postgresql://nobody@127.0.0.1:1/none")
    assert out.returncode == 1
    assert out.stderr.startswith("migration failed:")
    missing = _run()
    assert missing.returncode == 2
    assert "TGI_POSTGRES_DSN" in missing.stderr
