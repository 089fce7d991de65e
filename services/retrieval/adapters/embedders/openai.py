"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama,
TGI, LM Studio…), with httpx: timeout, bounded retries with backoff, batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from services.retrieval.adapters.embedders.errors import EmbeddingUnavailable
from services.retrieval.adapters.embedders.http import (
    Transient,
    classify_status,
    in_batches,
    slug,
    unit_vectors,
)

PROVIDER = "openai-compatible endpoint"


class OpenAIEmbedder:
    """Implements ``Embedder``. ``base_url`` ends before ``/embeddings`` (for example
    ``https://api.openai.com/v1`` or ``http://127.0.0.1:8000/v1``); ``dim`` is the model's
    output size, checked on every answer; ``dimensions`` asks models that can shorten their
    output (OpenAI's ``text-embedding-3-*``) for ``dim``. The API key is sent as a bearer
    token and never appears in a log, a repr or an error message.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        dim: int,
        api_key: SecretStr | None = None,
        timeout_s: float = 30.0,
        batch_size: int = 64,
        attempts: int = 3,
        backoff_s: float = 0.5,
        dimensions: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if dim < 1 or batch_size < 1 or attempts < 1 or timeout_s <= 0:
            raise ValueError("dim, batch_size, attempts must be ≥ 1 and timeout_s > 0")
        self.model_name = f"openai-{slug(model)}-{dim}"
        self.dim = dim
        self._model = model
        self._batch_size = batch_size
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._dimensions = dimensions
        headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model_name={self.model_name!r})"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order, ``batch_size`` texts per request.

        Raises ``EmbeddingUnavailable`` (retryable) or ``EmbeddingRejected`` (the input).
        """
        return await in_batches(
            texts,
            self._request,
            batch_size=self._batch_size,
            attempts=self._attempts,
            backoff_s=self._backoff_s,
            provider=PROVIDER,
        )

    async def _request(self, batch: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self._model, "input": batch, "encoding_format": "float"}
        if self._dimensions:
            body["dimensions"] = self.dim
        try:
            response = await self._client.post("/embeddings", json=body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise Transient(f"{PROVIDER}: {type(exc).__name__}") from None
        if response.status_code != httpx.codes.OK:
            raise classify_status(response.status_code, PROVIDER)
        return unit_vectors(_vectors(response, len(batch)), self.dim, PROVIDER)

    async def close(self) -> None:
        await self._client.aclose()


def _vectors(response: httpx.Response, expected: int) -> list[list[float]]:
    """``data[].embedding`` ordered by ``index``; raises on any other shape."""
    try:
        data = response.json()["data"]
        ordered = sorted(data, key=lambda item: int(item["index"]))
        vectors = [[float(x) for x in item["embedding"]] for item in ordered]
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingUnavailable(f"{PROVIDER}: malformed response ({exc!r})") from None
    if len(vectors) != expected:
        raise EmbeddingUnavailable(f"{PROVIDER}: {len(vectors)} vectors for {expected} texts")
    return vectors
