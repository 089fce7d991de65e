"""External signals on a draft, and the score they give.

- ``citations``: share of cited post ids that resolve to a post of the window;
- ``coverage``: share of the largest story clusters (most channels, then most posts; as
  many as there are items, at most ``TOP_CLUSTERS``) that some item cites;
- ``duplicates``: 1 minus the share of items that repeat an earlier item's story (a shared
  citation, or titles and summaries whose stems overlap by ``DUPLICATE_JACCARD`` or more);
- ``length``: items between 1 and the limit, summaries and the Telegram text within bounds;
- ``language``: share of items written in the digest's language (by script).

Any citation that does not resolve caps the score at 0.5: an invented source is never good;
so does a digest mostly not in its language.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from services.digest.domain.model import Draft, Story
from services.digest.domain.render import TELEGRAM_LIMIT, html_tags_allowed
from services.digest.domain.text import script_language, stems

TOP_CLUSTERS: Final = 5
DUPLICATE_JACCARD: Final = 0.5
MAX_SUMMARY_CHARS: Final = 600
WEIGHTS: Final = {
    "citations": 0.3,
    "coverage": 0.2,
    "duplicates": 0.2,
    "length": 0.1,
    "language": 0.2,
}
THRESHOLD: Final = 0.6


@dataclass(frozen=True)
class Verdict:
    """Signals in [0, 1], the score, and what was wrong (short, for the manifest)."""

    score: float
    signals: dict[str, float]
    issues: tuple[str, ...] = ()
    judge: float | None = None
    duplicate_pairs: tuple[tuple[str, str], ...] = field(default=())
    missing_clusters: tuple[str, ...] = field(default=())
    unresolved: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Whether the score reaches ``THRESHOLD``."""
        return self.score >= THRESHOLD


def top_clusters(stories: Sequence[Story], n: int) -> list[str]:
    """Ids of the ``n`` largest stories: most channels, then most posts, then earliest."""
    ordered = sorted(stories, key=lambda s: (-len(s.channels), -s.size, s.first_seen, s.story_id))
    return [s.story_id for s in ordered[:n]]


def duplicate_pairs(draft: Draft) -> list[tuple[str, str]]:
    """Pairs of item story ids that are about the same story (see the module docstring)."""
    bags = [set(stems(f"{i.title} {i.summary}")) for i in draft.items]
    pairs = []
    for b, item in enumerate(draft.items):
        for a in range(b):
            other = draft.items[a]
            union = bags[a] | bags[b]
            jaccard = len(bags[a] & bags[b]) / len(union) if union else 0.0
            if set(item.citations) & set(other.citations) or jaccard >= DUPLICATE_JACCARD:
                pairs.append((other.story_id, item.story_id))
    return pairs


def verify(
    draft: Draft,
    *,
    window_posts: Collection[str],
    cluster_members: Mapping[str, Collection[str]],
    top: Sequence[str],
    language: str,
    max_items: int,
    telegram_html: str,
) -> Verdict:
    """Score ``draft``. ``cluster_members`` maps each story id of ``top`` to its post ids."""
    cited = [pid for item in draft.items for pid in item.citations]
    unresolved = tuple(dict.fromkeys(pid for pid in cited if pid not in window_posts))
    citations = 1.0 - len(unresolved) / len(cited) if cited else 0.0
    wanted = list(top[: max(1, min(len(top), len(draft.items), TOP_CLUSTERS))])
    cited_set = set(cited)
    missing = tuple(s for s in wanted if not cited_set & set(cluster_members.get(s, ())))
    coverage = 1.0 - len(missing) / len(wanted) if wanted else 1.0
    pairs = duplicate_pairs(draft)
    dup_items = {b for _, b in pairs}
    duplicates = 1.0 - len(dup_items) / len(draft.items) if draft.items else 0.0
    checks = [
        1 <= len(draft.items) <= max_items,
        all(len(i.summary) <= MAX_SUMMARY_CHARS for i in draft.items),
        len(telegram_html) <= TELEGRAM_LIMIT and html_tags_allowed(telegram_html),
    ]
    length = sum(checks) / len(checks)
    in_language = [script_language([i.title, i.summary]) == language for i in draft.items]
    lang = sum(in_language) / len(in_language) if in_language else 0.0
    signals = {
        "citations": round(citations, 4),
        "coverage": round(coverage, 4),
        "duplicates": round(duplicates, 4),
        "length": round(length, 4),
        "language": round(lang, 4),
    }
    score = sum(WEIGHTS[k] * v for k, v in signals.items())
    issues = []
    if unresolved:
        score = min(score, 0.5)
        issues.append(f"{len(unresolved)} citation(s) do not resolve")
    if missing:
        issues.append(f"{len(missing)} top cluster(s) not covered")
    if pairs:
        issues.append(f"{len(pairs)} duplicate item pair(s)")
    if lang < 0.5:
        score = min(score, 0.5)
    if lang < 1.0:
        issues.append(f"{sum(not x for x in in_language)} item(s) not in {language}")
    if length < 1.0:
        issues.append("length out of bounds")
    return Verdict(
        score=round(score, 4),
        signals=signals,
        issues=tuple(issues),
        duplicate_pairs=tuple(pairs),
        missing_clusters=missing,
        unresolved=unresolved,
    )


def with_judge(verdict: Verdict, judge: float, weight: float = 0.3) -> Verdict:
    """The verdict with an LLM judge's score (in [0, 1]) blended in at ``weight``; the cap
    for unresolved citations still holds."""
    score = (1 - weight) * verdict.score + weight * judge
    if verdict.unresolved:
        score = min(score, 0.5)
    return Verdict(
        score=round(score, 4),
        signals=verdict.signals,
        issues=verdict.issues,
        judge=judge,
        duplicate_pairs=verdict.duplicate_pairs,
        missing_clusters=verdict.missing_clusters,
        unresolved=verdict.unresolved,
    )
