"""Dense text embedders behind the ``Embedder`` port: ``offline`` (navec, the default, needs
nothing downloaded), ``openai`` (any OpenAI-compatible endpoint) and ``gigachat``."""

from services.retrieval.adapters.embedders.factory import KINDS, build_embedder

__all__ = ["KINDS", "build_embedder"]
