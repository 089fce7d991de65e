"""The OpenAI-compatible and GigaChat embedders against a local fake HTTP server.

The server (stdlib, on 127.0.0.1, a port of its own) speaks both APIs: ``/v1/embeddings``
with a bearer key, GigaChat's ``/oauth`` token exchange and ``/api/v1/embeddings`` with the
access token. Each test scripts its answers (status, delay) and reads what was requested.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from servicekit.errors import ConfigError, InvalidMessage, RetryableError
from services.retrieval.adapters.embedders import build_embedder
from services.retrieval.adapters.embedders.errors import EmbeddingRejected, EmbeddingUnavailable
from services.retrieval.adapters.embedders.gigachat import GigaChatEmbedder
from services.retrieval.adapters.embedders.openai import OpenAIEmbedder

pytestmark = pytest.mark.unit

API_KEY = "sk-test-secret-0123456789"
CREDENTIALS = "Y2xpZW50OnNlY3JldA=="  # base64 "client:secret"
TOKEN = "giga-access-token-xyz"
DIM = 4
TEXTS = ["Доллар упал ниже 104 рублей", "The Broncos won", "Ставка ЦБ", "Снег в Москве", "x"]


@dataclass
class Fake:
    """Scripted answers (status, delay) for the next embedding requests; 200 when empty."""

    script: list[tuple[int, float]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    dim: int = DIM
    token_requests: int = 0


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path == "/oauth":
                fake.token_requests += 1
                if headers.get("authorization") != f"Basic {CREDENTIALS}":
                    self._send(401, {"message": "bad credentials"})
                    return
                expires = int(time.time() * 1000) + 3_600_000
                self._send(200, {"access_token": TOKEN, "expires_at": expires})
                return
            body = json.loads(raw)
            fake.requests.append((self.path, headers, body))
            status, delay = fake.script.pop(0) if fake.script else (200, 0.0)
            time.sleep(delay)
            if status != 200:
                self._send(status, {"error": {"message": f"status {status}"}})
                return
            texts = body["input"]
            data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": [float(len(t)), 1.0, 0.0, float(i + 1)][: fake.dim]
                    + [0.5] * max(0, fake.dim - DIM),
                    "usage": {"prompt_tokens": 3},
                }
                for i, t in reversed(list(enumerate(texts)))  # out of order on purpose
            ]
            self._send(200, {"object": "list", "data": data, "model": body["model"]})

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[Fake, str]]:
    fake = Fake()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _openai(url: str, **overrides: Any) -> OpenAIEmbedder:
    settings: dict[str, Any] = {
        "base_url": f"{url}/v1",
        "model": "text-embedding-3-small",
        "dim": DIM,
        "api_key": SecretStr(API_KEY),
        "timeout_s": 2.0,
        "batch_size": 2,
        "attempts": 3,
        "backoff_s": 0.01,
    }
    return OpenAIEmbedder(**(settings | overrides))


def _giga(url: str, **overrides: Any) -> GigaChatEmbedder:
    settings: dict[str, Any] = {
        "credentials": SecretStr(CREDENTIALS),
        "dim": DIM,
        "base_url": f"{url}/api/v1",
        "auth_url": f"{url}/oauth",
        "timeout_s": 2.0,
        "batch_size": 2,
        "attempts": 3,
        "backoff_s": 0.01,
    }
    return GigaChatEmbedder(**(settings | overrides))


def _expected(texts: list[str]) -> list[list[float]]:
    out = []
    for batch_start in range(0, len(texts), 2):
        for i, t in enumerate(texts[batch_start : batch_start + 2]):
            v = [float(len(t)), 1.0, 0.0, float(i + 1)]
            norm = sum(x * x for x in v) ** 0.5
            out.append([x / norm for x in v])
    return out


def _same(got: list[list[float]], want: list[list[float]]) -> bool:
    return len(got) == len(want) and all(
        g == pytest.approx(w) for g, w in zip(got, want, strict=False)
    )


async def test_openai_batches_in_order_with_bearer_key_and_unit_vectors(
    server: tuple[Fake, str],
) -> None:
    fake, url = server
    embedder = _openai(url)
    try:
        vectors = await embedder.embed(TEXTS)
    finally:
        await embedder.close()
    assert _same(vectors, _expected(TEXTS))
    assert [len(body["input"]) for _, _, body in fake.requests] == [2, 2, 1]
    path, headers, body = fake.requests[0]
    assert path == "/v1/embeddings"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert body == {
        "model": "text-embedding-3-small",
        "input": TEXTS[:2],
        "encoding_format": "float",
    }
    assert embedder.model_name == "openai-text-embedding-3-small-4"
    assert embedder.dim == DIM


async def test_openai_retries_transient_failures_then_succeeds(server: tuple[Fake, str]) -> None:
    fake, url = server
    fake.script = [(503, 0.0), (429, 0.0)]
    embedder = _openai(url)
    try:
        vectors = await embedder.embed(TEXTS[:2])
    finally:
        await embedder.close()
    assert _same(vectors, _expected(TEXTS[:2]))
    assert len(fake.requests) == 3


async def test_openai_timeouts_exhaust_the_attempts(server: tuple[Fake, str]) -> None:
    fake, url = server
    fake.script = [(200, 0.6)] * 2
    embedder = _openai(url, timeout_s=0.2, attempts=2)
    started = time.perf_counter()
    try:
        with pytest.raises(EmbeddingUnavailable, match="2 attempts") as caught:
            await embedder.embed(TEXTS[:1])
    finally:
        await embedder.close()
    assert isinstance(caught.value, RetryableError)
    assert len(fake.requests) == 2
    assert time.perf_counter() - started < 1.5  # each attempt was cut at 0.2 s


@pytest.mark.parametrize(
    ("status", "error", "calls"),
    [(400, EmbeddingRejected, 1), (422, EmbeddingRejected, 1), (401, EmbeddingUnavailable, 1)],
)
async def test_openai_errors_that_a_retry_cannot_fix_fail_at_once(
    server: tuple[Fake, str], status: int, error: type[Exception], calls: int
) -> None:
    fake, url = server
    fake.script = [(status, 0.0)]
    embedder = _openai(url)
    try:
        with pytest.raises(error) as caught:
            await embedder.embed(TEXTS[:1])
    finally:
        await embedder.close()
    assert len(fake.requests) == calls
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(embedder)
    assert isinstance(caught.value, InvalidMessage) == (error is EmbeddingRejected)


async def test_openai_wrong_dimension_is_a_provider_error(server: tuple[Fake, str]) -> None:
    fake, url = server
    fake.dim = 6
    embedder = _openai(url)
    try:
        with pytest.raises(EmbeddingUnavailable, match="6 dimensions, want 4"):
            await embedder.embed(TEXTS[:1])
    finally:
        await embedder.close()


async def test_openai_unreachable_endpoint_is_unavailable() -> None:
    embedder = _openai("http://127.0.0.1:9", attempts=2)  # discard port: nothing listens
    try:
        with pytest.raises(EmbeddingUnavailable, match="ConnectError"):
            await embedder.embed(TEXTS[:1])
    finally:
        await embedder.close()


async def test_gigachat_exchanges_credentials_for_a_token_and_embeds(
    server: tuple[Fake, str],
) -> None:
    fake, url = server
    embedder = _giga(url)
    try:
        vectors = await embedder.embed(TEXTS)
        again = await embedder.embed(TEXTS[:1])
    finally:
        await embedder.close()
    assert _same(vectors, _expected(TEXTS))
    assert _same(again, _expected(TEXTS[:1]))
    assert fake.token_requests == 1  # the token is reused until it expires
    path, headers, body = fake.requests[0]
    assert path == "/api/v1/embeddings"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert body == {"input": TEXTS[:2], "model": "Embeddings"}
    assert embedder.model_name == "gigachat-embeddings-4"
    assert CREDENTIALS not in repr(embedder)


async def test_gigachat_retries_server_errors_and_times_out(server: tuple[Fake, str]) -> None:
    fake, url = server
    fake.script = [(500, 0.0)]
    embedder = _giga(url)
    try:
        assert _same(await embedder.embed(TEXTS[:1]), _expected(TEXTS[:1]))
    finally:
        await embedder.close()
    assert len(fake.requests) == 2
    fake.script = [(200, 0.6)] * 2
    slow = _giga(url, timeout_s=0.2, attempts=2)
    try:
        with pytest.raises(EmbeddingUnavailable, match="GigaChat"):
            await slow.embed(TEXTS[:1])
    finally:
        await slow.close()


async def test_gigachat_refused_credentials_and_rejected_input(server: tuple[Fake, str]) -> None:
    fake, url = server
    wrong = _giga(url, credentials=SecretStr("d3Jvbmc6a2V5"))
    try:
        with pytest.raises(EmbeddingUnavailable, match="401") as caught:
            await wrong.embed(TEXTS[:1])
    finally:
        await wrong.close()
    assert "d3Jvbmc6a2V5" not in str(caught.value)
    assert fake.requests == []
    fake.script = [(413, 0.0)]
    embedder = _giga(url)
    try:
        with pytest.raises(EmbeddingRejected):
            await embedder.embed(TEXTS[:1])
    finally:
        await embedder.close()


def test_build_embedder_by_kind_with_plain_string_secrets(server: tuple[Fake, str]) -> None:
    _, url = server
    openai = build_embedder("openai", base_url=url, model="bge-m3", dim=1024, api_key="k")
    giga = build_embedder("gigachat", credentials=CREDENTIALS, base_url=url, auth_url=url)
    offline = build_embedder("offline")
    assert openai.model_name == "openai-bge-m3-1024"
    assert giga.model_name == "gigachat-embeddings-1024"
    assert giga.dim == 1024
    assert offline.model_name == "navec-news-v1-sif-300"
    assert offline.dim == 300
    with pytest.raises(ConfigError, match="unknown embedder kind 'sbert'"):
        build_embedder("sbert")
    with pytest.raises(ConfigError, match="embedder 'openai'"):
        build_embedder("openai", base_url=url)
