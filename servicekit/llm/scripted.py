"""A provider that answers after a fixed latency without any model: for benchmarks.

``TGI_LLM_PROVIDER=scripted`` with ``TGI_LLM_SCRIPTED_LATENCY_MS`` makes every service's LLM
calls take that long and cost realistic token counts, so a benchmark can tell the system's own
time from the model's (``make bench`` ``--llm-latency-ms``). It answers JSON-mode requests with
``{}`` (callers then take their fallback, as with a model that said nothing useful) and other
requests with a one-sentence answer citing the first source (``[1]``). Not for production: it
knows nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from servicekit.llm.port import Completion, Message
from servicekit.llm.tokens import estimate_prompt_tokens, estimate_tokens

PROVIDER = "scripted"
ANSWER = "According to the sources, this is what was reported [1]."


class ScriptedProvider:
    """:class:`~servicekit.llm.port.ChatProvider` with a fixed latency and canned answers."""

    provider = PROVIDER

    def __init__(self, *, latency_s: float, model: str = "scripted") -> None:
        if latency_s < 0:
            raise ValueError("latency_s must not be negative")
        self.model = model
        self._latency_s = latency_s
        self.calls = 0

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool,
    ) -> Completion:
        self.calls += 1
        await asyncio.sleep(self._latency_s)
        text = "{}" if json_mode else ANSWER
        return Completion(
            text,
            estimate_prompt_tokens(messages),
            min(max_tokens, estimate_tokens(text)),
            PROVIDER,
            self.model,
            estimated=True,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
