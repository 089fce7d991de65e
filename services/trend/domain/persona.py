"""Persona-aware ordering of reported trends: the hook, before persona data exists."""

from __future__ import annotations

from services.trend.domain.card import TrendCard


def rank_for_persona(cards: list[TrendCard], persona_id: str | None) -> list[TrendCard]:
    """Re-rank ``cards`` for a persona. No persona profiles are stored yet (the digest service
    will own them), so the order is returned unchanged; the signature is the contract a
    persona-aware ranking will fill in."""
    del persona_id
    return list(cards)
