"""Private server instances for chaos tests: ``deploy/local/infra.sh`` with a state dir and
ports of their own, so a test can kill and restart *its* broker, Postgres or Neo4j while the
shared servers keep serving everyone else."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers.chaos import free_port

INFRA = ROOT / "deploy" / "local" / "infra.sh"


class PrivateInfra:
    """Servers under ``.cache/chaos-<id>`` (git-ignored; the postgres OS user can reach it)."""

    def __init__(self) -> None:
        self.state = ROOT / ".cache" / f"chaos-{uuid.uuid4().hex[:8]}"
        self.state.mkdir(parents=True)
        self.kafka_port = free_port()
        self.controller_port = free_port()
        self.postgres_port = free_port()
        self.neo4j_port = free_port()
        self.started: set[str] = set()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def postgres_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/tgint"

    @property
    def neo4j_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.neo4j_port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TGI_STATE_DIR": str(self.state),
            "TGI_KAFKA_PORT": str(self.kafka_port),
            "TGI_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "TGI_POSTGRES_PORT": str(self.postgres_port),
            "TGI_NEO4J_BOLT_PORT": str(self.neo4j_port),
        }

    async def run(self, command: str, component: str) -> float:
        """``infra.sh <command> <component>``; returns its wall seconds, raises on failure."""
        started = time.monotonic()
        done = await asyncio.to_thread(
            subprocess.run,
            [str(INFRA), command, component],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=400,
        )
        if done.returncode != 0:
            raise RuntimeError(f"infra.sh {command} {component}: {done.stdout}\n{done.stderr}")
        if command == "up":
            self.started.add(component)
        return time.monotonic() - started

    def log(self, component: str) -> Path:
        return self.state / "logs" / f"{component}.log"

    def close(self) -> None:
        """Stop every server this instance started and delete its state."""
        for component in sorted(self.started):
            subprocess.run(
                [str(INFRA), "down", component],
                env=self._env(),
                capture_output=True,
                timeout=120,
                check=False,
            )
        shutil.rmtree(self.state, ignore_errors=True)
