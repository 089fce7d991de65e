"""Reciprocal rank fusion of the retrieval legs, and maximal marginal relevance."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from services.retrieval.domain.model import Hit, Leg


@dataclass(slots=True)
class Fused:
    """A post after fusion: its fused score, each leg's own score and rank, and a payload."""

    hit: Hit
    score: float
    leg_scores: dict[Leg, float] = field(default_factory=dict)
    leg_ranks: dict[Leg, int] = field(default_factory=dict)
    best_rank: int = 0
    """Its best rank in any leg (the first tie-breaker)."""


def rrf(
    legs: Mapping[Leg, Sequence[Hit]],
    *,
    k: int = 60,
    weights: Mapping[Leg, float] | None = None,
) -> list[Fused]:
    """Fuse ranked lists: ``score = Σ weight_leg / (k + rank_leg)``, best first.

    Ties are broken by the best single-leg rank, then by post id, so the order is
    deterministic. A post's payload comes from the first leg that returned it.
    """
    fused: dict[str, Fused] = {}
    for leg, hits in legs.items():
        weight = 1.0 if weights is None else weights.get(leg, 1.0)
        for rank, hit in enumerate(hits, start=1):
            entry = fused.get(hit.post_id)
            if entry is None:
                fused[hit.post_id] = Fused(
                    hit, weight / (k + rank), {leg: hit.score}, {leg: rank}, rank
                )
                continue
            if leg in entry.leg_ranks:  # a leg listing a post twice counts once
                continue
            entry.score += weight / (k + rank)
            entry.leg_scores[leg] = hit.score
            entry.leg_ranks[leg] = rank
            if rank < entry.best_rank:
                entry.best_rank = rank
    return sorted(fused.values(), key=lambda f: (-f.score, f.best_rank, f.hit.post_id))


_WORD = re.compile(r"\w{3,}", re.UNICODE)


def token_set(text: str) -> frozenset[str]:
    """Lower-cased words of 3+ characters: a cheap similarity basis for MMR."""
    return frozenset(w.lower() for w in _WORD.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|, 0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def mmr(
    items: Sequence[Fused],
    k: int,
    *,
    lambda_: float = 0.7,
    similarity: Callable[[Fused, Fused], float] | None = None,
) -> list[Fused]:
    """Pick ``k`` items trading relevance (fused score, rescaled to 0..1) against similarity to
    what is already picked. ``lambda_ = 1`` is plain relevance order."""
    if not items or k <= 0:
        return []
    if lambda_ >= 1.0 and similarity is None:  # pure relevance: no pairwise work to do
        return list(items[:k])
    top = items[0].score or 1.0
    tokens = {id(it): token_set(it.hit.text) for it in items}

    def sim(a: Fused, b: Fused) -> float:
        if similarity is not None:
            return similarity(a, b)
        return jaccard(tokens[id(a)], tokens[id(b)])

    chosen: list[Fused] = []
    rest = list(items)
    while rest and len(chosen) < k:
        best, best_value = 0, float("-inf")
        for i, candidate in enumerate(rest):
            redundancy = max((sim(candidate, c) for c in chosen), default=0.0)
            value = lambda_ * (candidate.score / top) - (1 - lambda_) * redundancy
            if value > best_value:
                best, best_value = i, value
        chosen.append(rest.pop(best))
    return chosen
