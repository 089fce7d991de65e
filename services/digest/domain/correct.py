"""One correction of a draft from its verdict (no model needed).

Citations that do not resolve are dropped (and items left with none); of two items about
the same story the lower-scored one goes; top clusters left out are brought in (their
extractive items replace the lowest-scored ones when the draft is full). Topics keep their
order.
"""

from __future__ import annotations

from collections.abc import Callable

from services.digest.domain.model import Draft, Item
from services.digest.domain.topics import ORDER
from services.digest.domain.verify import Verdict


def correct(
    draft: Draft, verdict: Verdict, *, item_for_story: Callable[[str], Item | None], max_items: int
) -> Draft:
    """The corrected draft (strategy suffixed ``+corrected``)."""
    bad = set(verdict.unresolved)
    items = []
    for item in draft.items:
        cites = tuple(c for c in item.citations if c not in bad)
        if cites:
            items.append(
                Item(item.story_id, item.title, item.summary, item.topic, cites, item.score)
            )
    by_story = {i.story_id: i for i in items}
    for a, b in verdict.duplicate_pairs:
        if a in by_story and b in by_story:
            loser = a if by_story[a].score < by_story[b].score else b
            del by_story[loser]
    kept = list(by_story.values())
    for story_id in verdict.missing_clusters:
        extra = item_for_story(story_id)
        if extra is None or extra.story_id in by_story:
            continue
        if len(kept) >= max_items:
            kept.sort(key=lambda i: -i.score)
            kept.pop()
        kept.append(extra)
    kept.sort(key=lambda i: (ORDER.index(i.topic), -i.score, i.story_id))
    return Draft(
        strategy=f"{draft.strategy}+corrected",
        items=tuple(kept),
        header=draft.header,
        notes=draft.notes,
    )
