"""GigaChat chat completions through the official ``gigachat`` SDK (async client).

The SDK exchanges the authorization key for an access token at ``auth_url`` (OAuth, scopes
``GIGACHAT_API_PERS`` / ``_B2B`` / ``_CORP``), caches it and refreshes it shortly before it
expires or after a 401. Its own retries are off (``max_retries=0``): retries, backoff, the
deadline and the error taxonomy are :class:`~servicekit.llm.resilient.ResilientLLM`'s. The
authorization key and the access token never appear in a log, a repr or an error message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import httpx
import pydantic
from gigachat import GigaChatAsyncClient
from gigachat.exceptions import GigaChatException, ResponseError
from gigachat.models import Chat, Messages, MessagesRole
from pydantic import SecretStr

from servicekit.llm.errors import LLMTransient, LLMUnavailable, classify_status
from servicekit.llm.port import Completion, Message

PROVIDER = "gigachat"
# GigaChat refuses temperature 0 (HTTP 422 "temperature must be in range (0, +inf)"): the
# greedy end of the range is asked for with the smallest temperature instead.
MIN_TEMPERATURE: Final = 0.01


class GigaChatProvider:
    """Implements ``ChatProvider`` with GigaChat's ``/chat/completions``.

    ``base_url`` and ``auth_url`` default to the SDK's (public API and Sber's OAuth endpoint);
    point both at a local fake in tests. ``verify_ssl`` may be off only when the Russian
    trusted root CA is not installed — prefer ``ca_bundle``. JSON mode sends no
    ``response_format`` (GigaChat's structured output needs a JSON schema, which this port does
    not carry): the prompt asks for JSON and ``parse_json`` checks it. Note that the SDK reads
    ``GIGACHAT_*`` environment variables for any setting not passed here.
    """

    provider = PROVIDER

    def __init__(
        self,
        *,
        credentials: SecretStr,
        model: str = "GigaChat",
        scope: str = "GIGACHAT_API_PERS",
        base_url: str | None = None,
        auth_url: str | None = None,
        timeout_s: float = 30.0,
        verify_ssl: bool = True,
        ca_bundle: str | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.model = model
        self._client = GigaChatAsyncClient(
            credentials=credentials.get_secret_value(),
            scope=scope,
            base_url=base_url,
            auth_url=auth_url,
            model=model,
            timeout=timeout_s,
            verify_ssl_certs=verify_ssl,
            ca_bundle_file=ca_bundle,
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"GigaChatProvider(model={self.model!r})"

    async def chat(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float, json_mode: bool
    ) -> Completion:
        """One chat request (plus the token exchange when the cached token is stale).

        Raises ``LLMTransient`` (connection, timeout, 408/409/425/429/5xx), ``LLMRejected``
        (400, 413, 422) or ``LLMUnavailable`` (401/403 credentials refused, other statuses,
        a response of the wrong shape).
        """
        payload = Chat(
            model=self.model,
            messages=[Messages(role=MessagesRole(m.role), content=m.content) for m in messages],
            max_tokens=max_tokens,
            temperature=max(temperature, MIN_TEMPERATURE),
        )
        try:
            answer = await self._client.achat(payload)
        except ResponseError as exc:  # the SDK's str() of it holds response headers and body
            raise classify_status(exc.status_code, PROVIDER) from None
        except httpx.TransportError as exc:
            raise LLMTransient(f"{PROVIDER}: {type(exc).__name__}") from None
        except (GigaChatException, pydantic.ValidationError, ValueError, KeyError) as exc:
            raise LLMUnavailable(f"{PROVIDER}: malformed response ({type(exc).__name__})") from None
        if not answer.choices:
            raise LLMUnavailable(f"{PROVIDER}: malformed response (no choices)")
        usage = answer.usage
        return Completion(
            text=answer.choices[0].message.content,
            tokens_in=usage.prompt_tokens,
            tokens_out=usage.completion_tokens,
            provider=PROVIDER,
            model=answer.model or self.model,
            estimated=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
