"""The story-similarity decision, shared by the clusterer, merging and the evaluation.

Two groups of posts (a post is a group of one) belong to one story when

    cos(c₁, c₂) + bonus · min(shared terms, cap)  >=  θ(n₁, n₂)

where ``cᵢ`` are the groups' mean unit vectors, "shared terms" counts the keywords and
normalised entities the two have in common (a story's terms are its most frequent ones), and

    θ(n₁, n₂) = τ / sqrt((τ + (1 − τ)/n₁) · (τ + (1 − τ)/n₂)).

Why that θ: if every post of a story is a common direction with squared norm ``τ`` plus
independent noise, two single posts have cosine ``τ``, while the *means* of ``n₁`` and ``n₂``
such posts have exactly θ(n₁, n₂) — averaging removes noise, so a genuine member sits closer
to a big story's centroid than to any single post. A fixed pairwise bar ``τ`` therefore becomes
a stricter bar for big clusters (from ``τ`` for two posts to ``√τ`` for a post against a large
story), which also stops a big story from swallowing loosely related posts by drift.
"""

from __future__ import annotations

import math
from collections import Counter

from services.trend.domain.model import SimilarityParams


def threshold(pair_threshold: float, n1: int, n2: int = 1) -> float:
    """θ(n₁, n₂) above; equals ``pair_threshold`` for two single posts. Raises
    ``ValueError`` for a size below 1 or a threshold outside (0, 1]."""
    if n1 < 1 or n2 < 1:
        raise ValueError("group sizes start at 1")
    tau = pair_threshold
    if not 0.0 < tau <= 1.0:
        raise ValueError("pair_threshold must be in (0, 1]")
    return tau / math.sqrt((tau + (1.0 - tau) / n1) * (tau + (1.0 - tau) / n2))


def margin(cos: float, shared: int, n1: int, n2: int, params: SimilarityParams) -> float:
    """How far the pair clears the bar; ``>= 0`` means the same story."""
    credit = params.term_bonus * min(shared, params.term_cap)
    return cos + credit - threshold(params.pair_threshold, n1, n2)


def same_story(cos: float, shared: int, n1: int, n2: int, params: SimilarityParams) -> bool:
    """The decision itself (see the module docstring)."""
    return margin(cos, shared, n1, n2, params) >= 0.0


def signature(terms: Counter[str], size: int) -> frozenset[str]:
    """The ``size`` most frequent terms (ties broken by the term, so it is deterministic)."""
    ranked = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))
    return frozenset(term for term, _ in ranked[:size])
