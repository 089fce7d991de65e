"""The story-similarity decision: size-dependent bar, shared terms as credit."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from services.trend.domain.model import SimilarityParams
from services.trend.domain.similarity import margin, same_story, signature, threshold

pytestmark = pytest.mark.unit
P = SimilarityParams(lexical_threshold=0.75, term_bonus=0.06, term_cap=4)


def test_the_bar_is_the_pair_threshold_for_two_posts_and_rises_towards_its_root() -> None:
    assert threshold(0.75, 1, 1) == pytest.approx(0.75)
    bars = [threshold(0.75, 1, n) for n in (1, 2, 5, 20, 1000)]
    assert bars == sorted(bars)
    assert bars[-1] == pytest.approx(math.sqrt(0.75), abs=1e-3)
    assert threshold(0.75, 3, 7) == pytest.approx(threshold(0.75, 7, 3))


def test_the_bar_is_what_means_of_a_common_signal_reach() -> None:
    # Posts = common direction with squared norm tau + orthogonal noise: the cosine of the
    # means of n1 and n2 posts is exactly the bar.
    tau, n1, n2 = 0.6, 3, 5
    dim = n1 + n2 + 1
    signal = [0.0] * dim
    signal[0] = math.sqrt(tau)
    posts = []
    for i in range(n1 + n2):
        v = list(signal)
        v[i + 1] = math.sqrt(1 - tau)
        posts.append(v)
    a = [sum(p[k] for p in posts[:n1]) / n1 for k in range(dim)]
    b = [sum(p[k] for p in posts[n1:]) / n2 for k in range(dim)]
    cos = sum(x * y for x, y in zip(a, b, strict=True)) / math.hypot(*a) / math.hypot(*b)
    assert cos == pytest.approx(threshold(tau, n1, n2))


def test_shared_terms_earn_capped_credit() -> None:
    assert not same_story(0.70, 0, 1, 1, P)
    assert same_story(0.70, 1, 1, 1, P)
    assert margin(0.5, 4, 1, 1, P) == pytest.approx(margin(0.5, 40, 1, 1, P))
    assert not same_story(0.5, 40, 1, 1, P)


def test_bad_sizes_and_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="sizes"):
        threshold(0.75, 0)
    with pytest.raises(ValueError, match="pair_threshold"):
        threshold(1.5, 1)


def test_signature_is_the_most_frequent_terms_with_ties_by_name() -> None:
    terms = Counter({"б": 3, "а": 3, "в": 1, "г": 2})
    assert signature(terms, 3) == frozenset({"а", "б", "г"})
