"""A slow, a failing and a garbage-speaking LLM provider behind the real router process.

The router is configured with the OpenAI-compatible provider pointing at a fake endpoint in
this test; in each phase the endpoint hangs, answers 500, or answers 200 with text that is not
a completion. Questions are still answered (extractive fallback, ``llm`` named as degraded),
within the request deadline, and never with more LLM calls than the budget allows.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.v1.posts import PostIngested
from tests.helpers.chaos import Fleet, fleet_env
from tests.helpers.gateway import create_key, index_posts
from tools.dataset import channel_posts

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]
FACTS = (
    "Его диаметр около двух километров.",
    "Кратер нашли по снимкам зонда.",
    "Форма кратера вытянутая, как след от скользящего удара.",
)
QUESTIONS = ("Что нашли учёные на Луне?", "Какой кратер нашли на Луне?", "Как нашли кратер?")


class FakeProvider:
    """An OpenAI-compatible endpoint that misbehaves the way ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "slow"
        self.calls: dict[str, int] = {}
        self._stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.calls[outer.mode] = outer.calls.get(outer.mode, 0) + 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if outer.mode == "slow":
                    outer._stop.wait(30)
                    body, status = b"{}", 200
                elif outer.mode == "failing":
                    body, status = b'{"error": {"message": "overloaded"}}', 500
                else:
                    body, status = b'{"choices": "not a list", "usage": 7}', 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up on a slow answer

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


async def test_slow_failing_and_garbage_llm_fall_back_within_deadline_and_budget(
    infra: dict[str, str],
    pg_dsn: str,
    tmp_path: Path,
    provider: FakeProvider,
    chaos_report: dict[str, Any],
) -> None:
    prefix, tenant = f"cl{uuid.uuid4().hex[:6]}.", f"cl{uuid.uuid4().hex[:8]}"
    env = fleet_env(
        bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
        pg_dsn=pg_dsn,
        neo4j_uri=infra["TGI_NEO4J_URI"],
        prefix=prefix,
        state=tmp_path,
    )
    env.update(
        {
            "TGI_ROUTER_LLM_PROVIDER": "openai",
            "TGI_ROUTER_LLM_OPENAI_BASE_URL": provider.url,
            "TGI_ROUTER_LLM_OPENAI_API_KEY": "sk-" + uuid.uuid4().hex,
            "TGI_ROUTER_RATE_LIMIT_PER_S": "1000",
            "TGI_ROUTER_RATE_LIMIT_BURST": "1000",
            # the breaker opens after failures; a short reset lets every phase reach the provider
            "TGI_ROUTER_LLM_BREAKER_RESET_S": "1",
        }
    )
    fleet = Fleet(env=env, logs=tmp_path)
    deadline_s = 8.0  # the router's request deadline (default)
    figures: dict[str, Any] = {}
    try:
        await fleet.start_all(["retrieval", "router"])
        posts = [p for p in itertools.islice(channel_posts(), 2000) if len(p.text) > 200][:20]
        posts += [
            PostIngested(
                channel_id="-100777000222",
                channel_title="Наука",
                chat_kind="channel",
                message_id=1 + n,
                date=datetime(2024, 12, 3, 10, n, tzinfo=UTC),
                text=f"Учёные нашли на Луне кратер необычной формы. {fact}",
                source="api",
            )
            for n, fact in enumerate(FACTS)
        ]
        await index_posts(prefix, infra["TGI_KAFKA_BOOTSTRAP"], tenant, posts)
        key = create_key(pg_dsn, tenant, "llm-user")
        async with httpx.AsyncClient(timeout=60) as http:
            for mode in ("slow", "failing", "garbage"):
                provider.mode = mode
                await asyncio.sleep(1.5)  # past the breaker's reset: the provider is tried again
                took: list[float] = []
                for question in QUESTIONS:
                    started = time.monotonic()
                    r = await http.post(
                        fleet.url("router", "/v1/rag/query"),
                        json={"text": question, "qos": "fast"},
                        headers={"X-API-Key": key},
                    )
                    took.append(time.monotonic() - started)
                    assert r.status_code == 200, (mode, r.text)
                    body = r.json()
                    assert body["status"] == "answered", (mode, body)
                    assert body["sources"], (mode, body)
                    assert body["mode"] == "extractive", (mode, body)
                    assert "llm" in body["degraded"], (mode, body)
                    assert body["usage"]["llm_calls"] <= 3, (mode, body)
                    assert took[-1] < deadline_s + 4, (mode, took)
                assert provider.calls.get(mode, 0) > 0, f"the {mode} provider was never called"
                figures[mode] = {
                    "questions": len(took),
                    "provider_calls": provider.calls.get(mode, 0),
                    "max_answer_s": round(max(took), 2),
                }
        assert fleet.procs["router"].poll() is None
        chaos_report["llm_faults"] = figures
    finally:
        await fleet.close()
