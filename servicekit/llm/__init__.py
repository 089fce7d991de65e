"""The LLM layer shared by every service: one port, real providers, per-request budgets.

``build_llm(settings)`` gives a :class:`ResilientLLM` (OpenAI-compatible or GigaChat behind a
budget, a hard deadline, retries and a circuit breaker) or None for the offline provider.
Model output meant as JSON goes through :func:`parse_json`, which fails on anything but one
valid object. :class:`PerformanceMetrics` records the seed's per-request metrics for real.
"""

from servicekit.llm.breaker import CircuitBreaker
from servicekit.llm.budget import Budget, Reservation
from servicekit.llm.errors import (
    BudgetExceeded,
    BudgetKind,
    CircuitOpen,
    LLMBadOutput,
    LLMError,
    LLMRejected,
    LLMTimeout,
    LLMTransient,
    LLMUnavailable,
)
from servicekit.llm.factory import build_llm
from servicekit.llm.metrics import PerformanceMetrics
from servicekit.llm.parsing import parse_json
from servicekit.llm.port import ChatProvider, Completion, LLMClient, Message, Role
from servicekit.llm.resilient import ResilientLLM
from servicekit.llm.settings import LLMSettings, LLMSettingsFields, ProviderName
from servicekit.llm.tokens import estimate_prompt_tokens, estimate_tokens

__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetKind",
    "ChatProvider",
    "CircuitBreaker",
    "CircuitOpen",
    "Completion",
    "LLMBadOutput",
    "LLMClient",
    "LLMError",
    "LLMRejected",
    "LLMSettings",
    "LLMSettingsFields",
    "LLMTimeout",
    "LLMTransient",
    "LLMUnavailable",
    "Message",
    "PerformanceMetrics",
    "ProviderName",
    "Reservation",
    "ResilientLLM",
    "Role",
    "build_llm",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "parse_json",
]
