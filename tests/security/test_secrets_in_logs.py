"""Secrets never appear in any service's log: API keys, the JWT secret, the Postgres password
in the DSN, LLM credentials. Runs last in this tier (file order), after the other tests made
the services log requests, failures, dead letters and start-up; it also provokes the failures
most likely to echo a credential (a bad DSN at start-up, a rejected and a revoked key)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.helpers.chaos import SERVICES, secrets_in
from tests.security.conftest import SecureStack

pytestmark = [pytest.mark.security, pytest.mark.timeout(300)]


async def test_no_secret_in_any_service_log(secure: SecureStack, tmp_path: Path) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for headers in (
            {"X-API-Key": secure.a.key},
            {"X-API-Key": secure.a.key[:-2] + "zz"},
            {"Authorization": f"Bearer {secure.b.key}x"},
        ):
            await http.post(secure.url("/v1/rag/query"), json={"text": "кратер"}, headers=headers)
    # a service that cannot reach Postgres says so without printing the DSN's password
    bad_dsn = secure.fleet.env["TGI_POSTGRES_DSN"].rsplit(":", 1)[0] + ":1/nowhere"
    failed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.memory"],
        cwd=ROOT,
        env={
            **secure.fleet.env,
            "TGI_POSTGRES_DSN": bad_dsn,
            "TGI_STARTUP_TIMEOUT_S": "3",
            "TGI_MEMORY_HTTP_PORT": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode != 0
    logs = {name: secure.fleet.log_text(name) for name in SERVICES}
    logs["memory-bad-dsn"] = failed.stdout + failed.stderr
    assert all(logs.values())
    leaked = {name: secrets_in(text, secure.secrets) for name, text in logs.items()}
    assert not any(leaked.values()), leaked
    # the check itself can fail: the secrets are real strings the services were given
    assert secure.secrets["dsn_password"] in secure.fleet.env["TGI_POSTGRES_DSN"]
    assert secure.fleet.env["TGI_ROUTER_JWT_SECRET"] == secure.secrets["jwt_secret"]
