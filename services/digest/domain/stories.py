"""Story clustering of a window's posts across channels.

Each post becomes a unit TF-IDF vector over its stems and entities (IDF over the window
itself). Posts are taken in time order; a post joins the story whose centroid is the most
similar (cosine at least ``threshold``) among the stories seen within ``max_gap`` before it,
else it starts a story. An inverted index from term to stories keeps this near linear. A
repost or near-copy (``duplicate_of`` naming a post of the window) never starts a story and
is not an original: it is collapsed onto the story of the post it repeats, so every source
is still cited and nothing is counted twice. Deterministic for the same posts.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.digest.domain.model import Post, Story
from services.digest.domain.text import stems

ENTITY_WEIGHT = 1.5
PROBE_TERMS = 8
EXACT_CANDIDATES = 12


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """``threshold``: cosine to a story's centroid needed to join it; ``max_gap``: a story
    not fed for this long takes no new posts."""

    threshold: float = 0.3
    max_gap: timedelta = timedelta(hours=30)
    merge_threshold: float = 0.4
    """Two stories (of two or more originals each) whose centroids are this similar are one:
    follow-ups of a story drift away from its first post's wording."""


def vectors(posts: Sequence[Post]) -> dict[str, dict[str, float]]:
    """Unit TF-IDF vectors of ``posts`` by post id; IDF over these posts."""
    bags: dict[str, set[str]] = {}
    df: Counter[str] = Counter()
    for post in posts:
        terms = set(stems(post.text)) | {f"e:{e}" for e in post.entities}
        bags[post.post_id] = terms
        df.update(terms)
    n = max(1, len(posts))
    out: dict[str, dict[str, float]] = {}
    for post_id, terms in bags.items():
        vec = {}
        for t in terms:
            weight = math.log((n + 1) / df[t])
            vec[t] = weight * (ENTITY_WEIGHT if t.startswith("e:") else 1.0)
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out[post_id] = {t: v / norm for t, v in vec.items() if v > 0}
    return out


def cluster(posts: Sequence[Post], params: ClusterParams | None = None) -> list[Story]:
    """Stories of ``posts``, ordered by their first post; see the module docstring."""
    params = params or ClusterParams()
    ordered = sorted(posts, key=lambda p: (p.date, p.post_id))
    present = {p.post_id for p in ordered}
    originals = [p for p in ordered if p.duplicate_of not in present]
    vecs = vectors(originals)
    stories: list[Story] = []
    sqnorm: list[float] = []
    last: list[datetime] = []
    index: dict[str, set[int]] = defaultdict(set)
    live: set[int] = set()
    for n, post in enumerate(originals):
        if n % 200 == 0:
            _retire(index, live, last, post.date - params.max_gap)
        vec = vecs[post.post_id]
        # Candidates share one of the post's heaviest (rarest) terms; the best few by that
        # partial dot product get their exact one.
        heavy = sorted((t for t in vec if t in index), key=lambda t: (-vec[t], t))[:PROBE_TERMS]
        partial: dict[int, float] = defaultdict(float)
        for term in heavy:
            for s in index[term]:
                partial[s] += vec[term] * stories[s].terms[term]
        shortlist = sorted(partial, key=lambda s: (-partial[s], s))[:EXACT_CANDIDATES]
        scores: dict[int, float] = {}
        for s in shortlist:
            terms = stories[s].terms
            scores[s] = sum(w * terms.get(t, 0.0) for t, w in vec.items())
        best, best_sim = -1, 0.0
        for s, dot in scores.items():
            if post.date - last[s] > params.max_gap or sqnorm[s] <= 0:
                continue
            sim = dot / math.sqrt(sqnorm[s])
            if sim > best_sim or (sim == best_sim and s < best):
                best, best_sim = s, sim
        if best >= 0 and best_sim >= params.threshold:
            target = stories[best]
            target.posts.append(post)
            sqnorm[best] += 2 * scores[best] + sum(w * w for w in vec.values())
        else:
            best = len(stories)
            target = Story(story_id=story_id(post.post_id), posts=[post])
            stories.append(target)
            sqnorm.append(sum(w * w for w in vec.values()))
            last.append(post.date)
            live.add(best)
        last[best] = max(last[best], post.date)
        for term, weight in vec.items():
            target.terms[term] = target.terms.get(term, 0.0) + weight
            index[term].add(best)
    stories = _merge(stories, params.merge_threshold)
    story_of = {p.post_id: i for i, s in enumerate(stories) for p in s.posts}
    for post in ordered:
        if post.duplicate_of in present:
            root = post.duplicate_of
            if root in story_of:
                stories[story_of[root]].reposts.append(post.post_id)
    return stories


def _retire(
    index: dict[str, set[int]], live: set[int], last: list[datetime], before: datetime
) -> None:
    """Drop stories not fed since ``before`` from the index (they take no new posts)."""
    stale = {s for s in live if last[s] < before}
    if not stale:
        return
    live -= stale
    for term in list(index):
        members = index[term]
        members -= stale
        if not members:
            del index[term]


MERGE_TERMS = 40


def _merge(stories: list[Story], threshold: float) -> list[Story]:
    """Union stories of two or more originals whose centroids (their ``MERGE_TERMS``
    heaviest terms, normalised) are similar enough; the earliest keeps its id."""
    big = [i for i, s in enumerate(stories) if len(s.posts) >= 2]
    unit = {i: _unit(stories[i].terms) for i in big}
    index: dict[str, list[int]] = defaultdict(list)
    parent = {i: i for i in range(len(stories))}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for b in big:
        dots: dict[int, float] = defaultdict(float)
        for term, weight in unit[b].items():
            for a in index[term]:
                dots[a] += weight * unit[a][term]
            index[term].append(b)
        for a, dot in dots.items():
            if dot >= threshold:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    merged: dict[int, Story] = {}
    for i, story in enumerate(stories):
        root = find(i)
        if root not in merged:
            merged[root] = story
            continue
        target = merged[root]
        target.posts.extend(story.posts)
        target.posts.sort(key=lambda p: (p.date, p.post_id))
        for term, weight in story.terms.items():
            target.terms[term] = target.terms.get(term, 0.0) + weight
    return [merged[k] for k in sorted(merged)]


def _unit(vec: dict[str, float]) -> dict[str, float]:
    top = dict(sorted(vec.items(), key=lambda kv: (-kv[1], kv[0]))[:MERGE_TERMS])
    norm = math.sqrt(sum(v * v for v in top.values())) or 1.0
    return {t: v / norm for t, v in top.items()}


def story_id(first_post_id: str) -> str:
    """A story's id: a hash of its first post's id (stable across runs of one window)."""
    return "s" + hashlib.sha256(first_post_id.encode()).hexdigest()[:15]
