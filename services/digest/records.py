"""Bookkeeping of a digest run: candidates, budget carry-over and usage, the manifest's
step records, and the contract's items (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.v1.common import Citation
from contracts.v1.digest import DigestItem
from servicekit.llm import Budget, Completion, LLMClient, Message
from services.digest.domain.model import Draft, Item, Post
from services.digest.domain.verify import Verdict


@dataclass
class Candidate:
    """One draft as rendered, with its verdict, or the verifier's error (a failure)."""

    draft: Draft
    md: str
    html: str
    verdict: Verdict | None
    error: str | None = None


def carry_over(budget: Budget, used: Mapping[str, Any]) -> None:
    """Charge what the run spent before a restart, so the bound holds across resumes."""
    calls, tokens = int(used.get("llm_calls", 0)), int(used.get("tokens", 0))
    for i in range(calls):
        budget.charge(Completion("", tokens if i == 0 else 0, 0, "carried", "", True))


def budget_json(budget: Budget) -> dict[str, Any]:
    """The budget's use and limits, for the manifest."""
    return {
        "llm_calls": budget.llm_calls,
        "tokens": budget.tokens,
        "agent_steps": budget.agent_steps,
        "max_llm_calls": budget.max_llm_calls,
        "max_tokens": budget.max_tokens,
        "exceeded": sorted(budget.exceeded),
    }


class CountingLLM:
    """An ``LLMClient`` that adds each completion's real usage to the manifest."""

    def __init__(self, inner: LLMClient, manifest: dict[str, Any]) -> None:
        self._inner = inner
        self._manifest = manifest
        self.provider = inner.provider
        self.model = inner.model

    async def complete(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        completion = await self._inner.complete(messages, **kwargs)
        used = self._manifest.setdefault("usage", {"tokens_in": 0, "tokens_out": 0})
        used["tokens_in"] += completion.tokens_in
        used["tokens_out"] += completion.tokens_out
        return completion


def candidate_key(c: Candidate) -> tuple[int, float]:
    return (c.verdict is not None, c.verdict.score if c.verdict else -1.0)


def draft_refs(draft: Draft) -> dict[str, Any]:
    return {
        "strategy": draft.strategy,
        "items": [{"id": i.story_id, "cites": list(i.citations[:5])} for i in draft.items],
    }


def verdict_json(c: Candidate) -> dict[str, Any]:
    if c.verdict is None:
        return {"strategy": c.draft.strategy, "error": c.error}
    return {
        "strategy": c.draft.strategy,
        "score": c.verdict.score,
        "signals": c.verdict.signals,
        "judge": c.verdict.judge,
        "issues": list(c.verdict.issues),
    }


def digest_item(item: Item, posts: Mapping[str, Post]) -> DigestItem:
    cites = []
    for pid in item.citations[:50]:
        post = posts.get(pid)
        if post is None:
            continue
        cites.append(
            Citation(
                post_id=post.post_id,
                channel_id=post.channel_id,
                message_id=post.message_id,
                permalink=post.permalink,
            )
        )
    return DigestItem(
        title=item.title[:300] or "—",
        summary=item.summary[:4000],
        topic=item.topic,
        citations=cites,
    )
