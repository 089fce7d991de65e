"""Token estimates, for budget checks before a call and for providers that report no usage.

The rule is about four characters per token (``ceil(len / 4)``), close enough for English
and Russian with current tokenizers (GigaChat's and OpenAI's ``o200k`` are Russian-aware;
older ``cl100k`` models use ~30 % more tokens on Cyrillic). Every chat message costs
``MESSAGE_OVERHEAD`` more tokens for its role and separators, and the reply ``REPLY_PRIMING``.
Real counts always come from the provider's usage report when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from servicekit.llm.port import Message

CHARS_PER_TOKEN: Final = 4
MESSAGE_OVERHEAD: Final = 4
REPLY_PRIMING: Final = 3


def estimate_tokens(text: str) -> int:
    """About ``len(text) / 4`` tokens, rounded up; 0 for an empty text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """The estimated prompt size of a chat request, message overheads included."""
    return REPLY_PRIMING + sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)
