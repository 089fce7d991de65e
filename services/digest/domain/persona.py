"""Personas: what a user cares about, as interests, channels and preferred length.

A profile is built from the user's own queries and digest requests and their feedback on
digests (``build_profile``); the offline batch (``python -m services.digest.personas``)
stores it with its embedding: a feature-hashed, L2-normalised vector of the interest stems
(``DIM`` dimensions), so stories and personas compare by cosine without any model. The
summary given to an LLM in synthesis is at most ``SUMMARY_TOKENS`` tokens.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from servicekit.llm import estimate_tokens
from services.digest.domain.text import stems

DIM: Final = 256
SUMMARY_TOKENS: Final = 200
TOP_INTERESTS: Final = 5
Length = Literal["short", "medium", "long"]
ITEMS_FOR: Final[dict[str, int]] = {"short": 5, "medium": 8, "long": 12}


@dataclass(frozen=True)
class Persona:
    """One user's profile: interest stems with weights in (0, 1], favourite channels,
    preferred digest length and style, and its embedding."""

    persona_id: str
    interests: Mapping[str, float]
    channels: tuple[str, ...] = ()
    length: Length = "medium"
    style: Literal["brief", "detailed"] = "brief"
    embedding: tuple[float, ...] = field(default=())

    def affinity(self, terms: Mapping[str, float], channels: Iterable[str]) -> float:
        """How much a story (its term centroid and channels) matches, in [0, 1]: half the
        cosine of the hashed embeddings, half the weighted share of the persona's
        ``TOP_INTERESTS`` strongest interests the story mentions, plus a bonus for a
        favourite channel. (A centroid has many terms, so the cosine alone stays small even
        for a story squarely on the persona's subject.)"""
        mine = self.embedding or embed(self.interests)
        cos = sum(a * b for a, b in zip(mine, embed(terms), strict=True))
        top = sorted(self.interests.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_INTERESTS]
        total = sum(w for _, w in top)
        share = sum(w for t, w in top if t in terms) / total if total else 0.0
        bonus = 0.2 if set(channels) & set(self.channels) else 0.0
        return max(0.0, min(1.0, 0.5 * max(0.0, cos) + 0.5 * share + bonus))

    def summary(self) -> str:
        """A plain description for synthesis prompts, at most ``SUMMARY_TOKENS`` tokens."""
        top = sorted(self.interests.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
        text = (
            f"Interests: {', '.join(t for t, _ in top) or 'none known'}. "
            f"Favourite channels: {', '.join(self.channels[:10]) or 'none'}. "
            f"Prefers {self.length} digests, {self.style} style."
        )
        while estimate_tokens(text) > SUMMARY_TOKENS:
            text = text[: int(len(text) * 0.9)]
        return text


def embed(terms: Mapping[str, float]) -> tuple[float, ...]:
    """Feature-hashed, L2-normalised vector of weighted terms (``DIM`` dimensions)."""
    vec = [0.0] * DIM
    for term, weight in terms.items():
        digest = hashlib.blake2b(term.encode(), digest_size=4).digest()
        slot = int.from_bytes(digest[:2], "big") % DIM
        sign = 1.0 if digest[2] & 1 else -1.0
        vec[slot] += sign * weight
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return tuple(v / norm for v in vec)


@dataclass(frozen=True)
class Feedback:
    """A rating of one digest: +1 or -1, with the stems of the items it was about."""

    rating: int
    terms: Sequence[str] = ()


def build_profile(
    persona_id: str,
    queries: Sequence[str],
    requested_channels: Sequence[Sequence[str]],
    feedback: Sequence[Feedback] = (),
) -> Persona:
    """A profile from a user's queries (interest stems, TF with a log damping), the channels
    of their digest requests (most requested first) and feedback (liked digests' stems add
    weight, disliked ones subtract). Length: ``short`` when most feedback is negative,
    ``long`` when the user asked for many channels, else ``medium``."""
    counts: Counter[str] = Counter()
    for q in queries:
        counts.update(set(stems(q)))
    for fb in feedback:
        for t in set(fb.terms):
            counts[t] += fb.rating
    positive = {t: math.log1p(c) for t, c in counts.items() if c > 0}
    top = max(positive.values(), default=1.0)
    interests = {t: round(v / top, 4) for t, v in sorted(positive.items())}
    channel_counts = Counter(c for chans in requested_channels for c in chans)
    channels = tuple(c for c, _ in sorted(channel_counts.items(), key=lambda kv: (-kv[1], kv[0])))
    negative = sum(1 for f in feedback if f.rating < 0)
    length: Length = "medium"
    if feedback and negative * 2 > len(feedback):
        length = "short"
    elif requested_channels and max(len(c) for c in requested_channels) >= 10:
        length = "long"
    return Persona(
        persona_id=persona_id,
        interests=interests,
        channels=channels[:20],
        length=length,
        embedding=embed(interests),
    )
