"""Chat completions from any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, TGI, LM
Studio…) over httpx: one attempt per :meth:`OpenAIProvider.chat`, errors classified."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from servicekit.llm.errors import LLMTransient, LLMUnavailable, classify_status
from servicekit.llm.port import Completion, Message
from servicekit.llm.tokens import estimate_prompt_tokens, estimate_tokens

PROVIDER = "openai"


class OpenAIProvider:
    """Implements ``ChatProvider`` with ``POST {base_url}/chat/completions``.

    ``base_url`` ends before ``/chat/completions`` (``https://api.openai.com/v1``,
    ``http://127.0.0.1:8000/v1``). ``json_mode`` requests send
    ``response_format={"type": "json_object"}`` unless ``json_response_format`` is off (for
    servers that reject it); OpenAI then also needs the word "JSON" in the prompt. Token counts
    come from the response's ``usage``; without one they are estimated and marked so.
    The API key is sent as a bearer token and never appears in a log, a repr or an error.
    """

    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: SecretStr | None = None,
        json_response_format: bool = True,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.model = model
        self._json_response_format = json_response_format
        headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OpenAIProvider(model={self.model!r})"

    async def chat(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float, json_mode: bool
    ) -> Completion:
        """One chat completion request. Raises ``LLMTransient`` (connection, timeout, 408,
        409, 425, 429, 5xx), ``LLMRejected`` (400, 413, 422) or ``LLMUnavailable`` (other
        statuses, a response of the wrong shape)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        if json_mode and self._json_response_format:
            body["response_format"] = {"type": "json_object"}
        try:
            response = await self._client.post("/chat/completions", json=body)
        except httpx.TransportError as exc:  # timeouts, refused connections, protocol errors
            raise LLMTransient(f"{PROVIDER}: {type(exc).__name__}") from None
        if response.status_code != httpx.codes.OK:
            raise classify_status(response.status_code, PROVIDER)
        return self._completion(response, messages)

    def _completion(self, response: httpx.Response, messages: Sequence[Message]) -> Completion:
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"] or ""
            if not isinstance(text, str):
                raise TypeError("content is not a string")
            usage = data.get("usage")
            usage = usage if isinstance(usage, dict) else {}
            model = str(data.get("model") or self.model)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMUnavailable(f"{PROVIDER}: malformed response ({type(exc).__name__})") from None
        tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(tokens_in, int) and isinstance(tokens_out, int):
            return Completion(text, tokens_in, tokens_out, PROVIDER, model, estimated=False)
        return Completion(
            text,
            estimate_prompt_tokens(messages),
            estimate_tokens(text),
            PROVIDER,
            model,
            estimated=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
