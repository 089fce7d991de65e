"""Choosing an embedder from settings."""

from __future__ import annotations

from typing import Any, Final

from pydantic import SecretStr

from servicekit.errors import ConfigError
from services.retrieval.ports import Embedder

KINDS: Final = ("offline", "openai", "gigachat")


def build_embedder(kind: str, **settings: Any) -> Embedder:
    """An embedder of ``kind`` (``offline``, ``openai`` or ``gigachat``) built from keyword
    settings of that class (secrets as ``SecretStr`` or plain strings, wrapped at once).

    Raises ``ConfigError`` for an unknown kind or settings the class does not take. Imports
    are local so that the offline default does not load the HTTP SDKs, nor they natasha.
    """
    for secret in ("api_key", "credentials"):
        if isinstance(settings.get(secret), str):
            settings[secret] = SecretStr(settings[secret])
    try:
        if kind == "offline":
            from services.retrieval.adapters.embedders.navec import NavecEmbedder

            return NavecEmbedder(**settings)
        if kind == "openai":
            from services.retrieval.adapters.embedders.openai import OpenAIEmbedder

            return OpenAIEmbedder(**settings)
        if kind == "gigachat":
            from services.retrieval.adapters.embedders.gigachat import GigaChatEmbedder

            return GigaChatEmbedder(**settings)
    except TypeError as exc:
        raise ConfigError(f"embedder {kind!r}: {exc}") from None
    raise ConfigError(f"unknown embedder kind {kind!r}; expected one of {', '.join(KINDS)}")
