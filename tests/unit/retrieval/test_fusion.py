"""Fusion, diversity, limits and the cache: pure retrieval logic."""

from __future__ import annotations

import pytest

from servicekit.cache import TtlLru
from services.retrieval.domain.fusion import mmr, rrf
from services.retrieval.domain.limits import clamp
from services.retrieval.domain.model import Hit

pytestmark = pytest.mark.unit


def _hits(leg: str, ids: list[str], texts: dict[str, str] | None = None) -> list[Hit]:
    return [
        Hit(post_id=i, score=1.0 / (n + 1), leg=leg, text=(texts or {}).get(i, i))  # type: ignore[arg-type]
        for n, i in enumerate(ids)
    ]


def test_rrf_rewards_agreement_between_legs() -> None:
    fused = rrf(
        {"dense": _hits("dense", ["a", "b", "c"]), "sparse": _hits("sparse", ["c", "a", "d"])}
    )
    assert [f.hit.post_id for f in fused] == ["a", "c", "b", "d"]
    top = fused[0]
    assert top.leg_ranks == {"dense": 1, "sparse": 2}
    assert top.score == pytest.approx(1 / 61 + 1 / 62)


def test_rrf_weights_and_deterministic_ties() -> None:
    legs = {"dense": _hits("dense", ["a"]), "sparse": _hits("sparse", ["b"])}
    assert [f.hit.post_id for f in rrf(legs)] == ["a", "b"]  # tie: broken by post id
    weighted = rrf(legs, weights={"dense": 0.5, "sparse": 1.0})
    assert [f.hit.post_id for f in weighted] == ["b", "a"]


def test_mmr_skips_near_copies() -> None:
    texts = {
        "a": "Путин встретился с Грефом в Москве",
        "b": "Путин встретился с Грефом в Москве сегодня",
        "c": "В Китае нашли ударный кратер необычной формы",
    }
    fused = rrf({"sparse": _hits("sparse", ["a", "b", "c"], texts)})
    assert [f.hit.post_id for f in mmr(fused, 2, lambda_=0.5)] == ["a", "c"]
    assert [f.hit.post_id for f in mmr(fused, 2, lambda_=1.0)] == ["a", "b"]
    assert mmr(fused, 0) == []


@pytest.mark.parametrize(
    ("domain", "top_k", "depth", "expected"),
    [
        ("digest", 100, 5, (30, 2)),
        ("trend", 100, 5, (50, 3)),
        ("qa", 5, 3, (5, 1)),
        ("x", 0, -1, (1, 0)),
    ],
)
def test_domain_limits_are_enforced(
    domain: str, top_k: int, depth: int, expected: tuple[int, int]
) -> None:
    assert clamp(domain, top_k, depth) == expected


def test_ttl_lru_expires_and_evicts() -> None:
    now = [0.0]
    cache: TtlLru[str] = TtlLru(maxsize=2, ttl_s=10, now=lambda: now[0])
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # a is now most recent
    cache.put("c", "C")  # evicts b
    assert cache.get("b") is None
    now[0] = 11
    assert cache.get("a") is None
    assert len(cache) == 1
    assert cache.invalidate(lambda k: k == "c") == 1
