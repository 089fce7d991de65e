"""The LLM's two jobs in a digest, both optional and bounded.

- ``synthesize``: one call rewriting the titles and summaries of at most ``MAX_SYNTH_ITEMS``
  items from their representative posts' excerpts (``EXCERPT_CHARS`` each), with the
  persona summary (at most 200 tokens); citations never come from the model.
- ``judge``: one call of at most ``JUDGE_TOKENS`` output tokens scoring the Markdown (cut to
  ``JUDGE_CHARS``) in [0, 1].

Bound per digest, whatever the window's size (inputs are cut, not scaled): at most 1
synthesis and 3 judge calls (the candidate, its correction, the retry), so ``MAX_CALLS`` =
4 calls and ``MAX_TOKENS`` = 8000 tokens; the run's :class:`~servicekit.llm.Budget` enforces
both before each call. Output is parsed strictly (``parse_json``): anything else raises
``LLMBadOutput``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from servicekit.llm import Budget, LLMBadOutput, LLMClient, Message, parse_json
from services.digest.domain.model import Draft, Item, Post
from services.digest.domain.text import clip

MAX_CALLS: Final = 4
MAX_TOKENS: Final = 8000
MAX_SYNTH_ITEMS: Final = 12
EXCERPT_CHARS: Final = 300
SYNTH_OUT_TOKENS: Final = 1000
JUDGE_TOKENS: Final = 300
JUDGE_CHARS: Final = 3200


class _Rewritten(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    story_id: str
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(max_length=500)


class _Synthesis(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[_Rewritten]


class _Judgement(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    score: float = Field(ge=0.0, le=1.0)
    issues: list[str] = Field(default_factory=list, max_length=10)


async def synthesize(
    llm: LLMClient,
    draft: Draft,
    posts: Mapping[str, Post],
    *,
    budget: Budget,
    language: str,
    persona: str | None,
    timeout_s: float,
) -> Draft:
    """The draft with the model's titles and summaries. Raises ``LLMError`` (including
    ``LLMBadOutput``, or when the answer names other stories than the draft's)."""
    items = draft.items[:MAX_SYNTH_ITEMS]
    lines = []
    for item in items:
        rep = posts.get(item.citations[0]) if item.citations else None
        excerpt = clip(rep.text, EXCERPT_CHARS) if rep else item.title
        lines.append(f"- story_id={item.story_id}: {excerpt}")
    system = (
        "You write news digest items. For each story write a short title and a one or two "
        f"sentence summary in language '{language}', using only the excerpt given. Answer "
        'with one JSON object: {"items": [{"story_id": "...", "title": "...", '
        '"summary": "..."}]} covering exactly the given story ids.'
    )
    if persona:
        system += f" Reader: {persona}"
    completion = await llm.complete(
        [Message("system", system), Message("user", "\n".join(lines))],
        budget=budget,
        max_tokens=SYNTH_OUT_TOKENS,
        timeout_s=timeout_s,
        json_mode=True,
    )
    parsed = parse_json(completion.text, _Synthesis)
    got = {r.story_id: r for r in parsed.items}
    if set(got) != {i.story_id for i in items}:
        raise LLMBadOutput("synthesis names other stories than asked", text=completion.text)
    rewritten = tuple(
        Item(
            i.story_id,
            got[i.story_id].title,
            got[i.story_id].summary,
            i.topic,
            i.citations,
            i.score,
        )
        if i.story_id in got
        else i
        for i in draft.items
    )
    return Draft(f"{draft.strategy}+llm", rewritten, draft.header, draft.notes)


async def judge(
    llm: LLMClient, markdown: str, *, budget: Budget, language: str, timeout_s: float
) -> float:
    """The model's quality score of the digest in [0, 1]. Raises ``LLMError``."""
    system = (
        "Score this news digest from 0 to 1: are items distinct stories, clear, faithful to "
        f"their sources, written in '{language}'? Answer with one JSON object: "
        '{"score": 0.0, "issues": ["..."]}.'
    )
    completion = await llm.complete(
        [Message("system", system), Message("user", clip(markdown, JUDGE_CHARS))],
        budget=budget,
        max_tokens=JUDGE_TOKENS,
        timeout_s=timeout_s,
        json_mode=True,
    )
    return parse_json(completion.text, _Judgement).score
