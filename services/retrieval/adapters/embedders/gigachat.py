"""GigaChat embeddings through the official ``gigachat`` SDK (OAuth token exchange included).

The SDK's own retries are off (``max_retries=0``): retries, backoff and the error taxonomy
are this module's, the same as for the OpenAI-compatible embedder. The authorization key
and the access token never appear in a log, a repr or an error message.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from gigachat import GigaChat
from gigachat.exceptions import ResponseError
from pydantic import SecretStr

from services.retrieval.adapters.embedders.errors import EmbeddingUnavailable
from services.retrieval.adapters.embedders.http import (
    Transient,
    classify_status,
    in_batches,
    slug,
    unit_vectors,
)

PROVIDER = "GigaChat"
DEFAULT_AUTH_URL = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
DEFAULT_BASE_URL = "https://gigachat.devices.sberbank.ru/api/v1"


class GigaChatEmbedder:
    """Implements ``Embedder`` with GigaChat's ``/embeddings`` (``Embeddings`` is 1024-d,
    ``EmbeddingsGigaR`` 2560-d: ``dim`` must match the model and is checked on every answer).

    ``credentials`` is the base64 authorization key exchanged for an access token at
    ``auth_url`` (scope ``GIGACHAT_API_PERS``, ``_B2B`` or ``_CORP``); the SDK refreshes the
    token when it expires. ``verify_ssl`` may be off for the Russian trusted root CA only
    when the CA bundle is not installed — prefer ``ca_bundle``.
    """

    def __init__(
        self,
        *,
        credentials: SecretStr,
        model: str = "Embeddings",
        dim: int = 1024,
        scope: str = "GIGACHAT_API_PERS",
        base_url: str = DEFAULT_BASE_URL,
        auth_url: str = DEFAULT_AUTH_URL,
        timeout_s: float = 30.0,
        batch_size: int = 32,
        attempts: int = 3,
        backoff_s: float = 0.5,
        verify_ssl: bool = True,
        ca_bundle: str | None = None,
    ) -> None:
        if dim < 1 or batch_size < 1 or attempts < 1 or timeout_s <= 0:
            raise ValueError("dim, batch_size, attempts must be ≥ 1 and timeout_s > 0")
        self.model_name = f"gigachat-{slug(model)}-{dim}"
        self.dim = dim
        self._model = model
        self._batch_size = batch_size
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._client = GigaChat(
            credentials=credentials.get_secret_value(),
            scope=scope,
            base_url=base_url,
            auth_url=auth_url,
            timeout=timeout_s,
            verify_ssl_certs=verify_ssl,
            ca_bundle_file=ca_bundle,
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"GigaChatEmbedder(model_name={self.model_name!r})"

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
        try:
            answer = await self._client.aembeddings(batch, model=self._model)
        except ResponseError as exc:
            raise classify_status(exc.status_code, PROVIDER) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise Transient(f"{PROVIDER}: {type(exc).__name__}") from None
        ordered = sorted(answer.data, key=lambda item: item.index)
        if len(ordered) != len(batch):
            raise EmbeddingUnavailable(f"{PROVIDER}: {len(ordered)} vectors for {len(batch)} texts")
        return unit_vectors([item.embedding for item in ordered], self.dim, PROVIDER)

    async def close(self) -> None:
        await self._client.aclose()
