"""Per-domain retrieval limits (the seed's Domain Modules): enforced here, for every caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Domain = Literal["qa", "digest", "trend"]


@dataclass(frozen=True)
class Limit:
    """At most ``max_docs`` documents and ``max_depth`` graph hops for a domain."""

    max_docs: int
    max_depth: int


LIMITS: Final[dict[str, Limit]] = {
    "qa": Limit(max_docs=20, max_depth=1),
    "digest": Limit(max_docs=30, max_depth=2),
    "trend": Limit(max_docs=50, max_depth=3),
}


def clamp(domain: str, top_k: int, depth: int) -> tuple[int, int]:
    """``(top_k, depth)`` within the domain's limits; an unknown domain gets the QA limits."""
    limit = LIMITS.get(domain, LIMITS["qa"])
    return max(1, min(top_k, limit.max_docs)), max(0, min(depth, limit.max_depth))
