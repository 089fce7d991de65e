"""The six services as real processes, on topics and a database of their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, new_prefix

SERVICES = ("memory", "dlq", "retrieval", "trend", "digest", "router")


@dataclass(frozen=True)
class Stack:
    prefix: str
    ports: dict[str, int]
    logs: Path

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def stack(
    infra: dict[str, str], pg_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    prefix = new_prefix("e2e")
    logs = tmp_path_factory.mktemp("e2e-logs")
    ports = {name: _free_port() for name in SERVICES}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    base_env = {
        **os.environ,
        "TGI_KAFKA_BOOTSTRAP": infra["TGI_KAFKA_BOOTSTRAP"],
        "TGI_POSTGRES_DSN": pg_dsn,
        "TGI_TOPIC_PREFIX": prefix,
        "TGI_LOG_JSON": "true",
        "TGI_RETRIEVAL_QDRANT_EDGE_PATH": str(logs / "qdrant-edge"),
        "TGI_NEO4J_URI": infra["TGI_NEO4J_URI"],
        "TGI_ROUTER_MEMORY_URL": f"http://127.0.0.1:{ports['memory']}",
        "TGI_ROUTER_DIGEST_URL": f"http://127.0.0.1:{ports['digest']}",
    }
    for name in SERVICES:
        env = {**base_env, f"TGI_{name.upper()}_HTTP_PORT": str(ports[name])}
        with (logs / f"{name}.log").open("wb") as out:
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    stack = Stack(prefix=prefix, ports=ports, logs=logs)
    try:
        deadline = time.monotonic() + 120
        for name in SERVICES:
            while True:
                if procs[name].poll() is not None:
                    pytest.fail(f"{name} exited:\n{(logs / f'{name}.log').read_text()[-3000:]}")
                try:
                    if httpx.get(stack.url(name, "/ready"), timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} not ready:\n{(logs / f'{name}.log').read_text()[-3000:]}")
                time.sleep(0.3)
        yield stack
    finally:
        for proc in procs.values():
            proc.terminate()
        for name, proc in procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                print(f"{name} did not stop on SIGTERM within 30 s")
