"""Group digests: threads of a conversation window, their decisions and open questions.

Threads come from reply links first (a reply joins the thread of the message it answers,
when that message is in the window), then time proximity: a message without a reply link
joins the latest thread whose last message is at most ``gap`` before it and shares a stem
with it, else it starts a thread. Decisions are sentences with a decision cue ("решили",
"договорились", "decided", "we will"…); open questions are question sentences no later
message of the thread replies to. Deterministic for the same messages.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from services.digest.domain.model import Draft, Item, Post
from services.digest.domain.text import clip, sentences, stems

_DECISION: Final = re.compile(
    r"\b(решили|решено|договорились|договоримся|утвердили|принято|делаем|будем делать|"
    r"decided|agreed|we will|we'll|let's go with|going with|approved|the plan is)\b",
    re.I,
)


@dataclass(slots=True)
class Thread:
    """Messages of one thread, oldest first."""

    thread_id: str
    posts: list[Post] = field(default_factory=list)
    terms: Counter[str] = field(default_factory=Counter)

    @property
    def participants(self) -> list[str]:
        """Authors by number of messages (then name)."""
        counts = Counter(_who(p) for p in self.posts)
        return [a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _who(post: Post) -> str:
    return post.author_name or post.author_id or "?"


def build_threads(posts: Sequence[Post], gap: timedelta = timedelta(minutes=10)) -> list[Thread]:
    """Threads of ``posts`` (see the module docstring), in order of their first message."""
    ordered = sorted(posts, key=lambda p: (p.date, p.post_id))
    by_message: dict[tuple[str, int], Thread] = {}
    threads: list[Thread] = []
    for post in ordered:
        terms = set(stems(post.text))
        target = None
        if post.reply_to_message_id is not None:
            target = by_message.get((post.channel_id, post.reply_to_message_id))
        if target is None:
            for thread in reversed(threads):
                last = thread.posts[-1]
                if post.date - last.date > gap:
                    break
                if last.channel_id == post.channel_id and terms & set(thread.terms):
                    target = thread
                    break
        if target is None:
            target = Thread(thread_id="t" + hashlib.sha256(post.post_id.encode()).hexdigest()[:15])
            threads.append(target)
        target.posts.append(post)
        target.terms.update(terms)
        by_message[(post.channel_id, post.message_id)] = target
    return threads


def decisions(thread: Thread) -> list[str]:
    """Sentences of the thread with a decision cue."""
    return [s for p in thread.posts for s in sentences(p.text) if _DECISION.search(s)]


def open_questions(thread: Thread) -> list[str]:
    """Question sentences of messages nobody in the thread replied to (the last message's
    questions count as open too)."""
    answered = {p.reply_to_message_id for p in thread.posts if p.reply_to_message_id}
    out = []
    for i, post in enumerate(thread.posts):
        later_other = any(_who(q) != _who(post) for q in thread.posts[i + 1 :])
        if post.message_id in answered or (later_other and post.reply_to_message_id is None):
            continue
        out += [s for s in sentences(post.text) if s.endswith("?")]
    return out


def group_draft(
    posts: Sequence[Post], previous: Sequence[Post], *, max_items: int, language: str
) -> Draft:
    """A group digest: the biggest threads as items (topic terms, first message, decisions,
    open questions), the most active participants, and a comparison with the previous window."""
    threads = build_threads(posts)
    threads.sort(key=lambda t: (-len(t.posts), -len(set(map(_who, t.posts))), t.thread_id))
    ru = language == "ru"
    items = []
    for thread in threads[:max_items]:
        found = decisions(thread)[:2]
        questions = open_questions(thread)[:2]
        parts = []
        if found:
            parts.append(("Решения: " if ru else "Decisions: ") + " / ".join(found))
        if questions:
            parts.append(
                ("Открытые вопросы: " if ru else "Open questions: ") + " / ".join(questions)
            )
        who = ", ".join(thread.participants[:3])
        parts.append(("Участники: " if ru else "Participants: ") + who)
        items.append(
            Item(
                story_id=thread.thread_id,
                title=clip(thread.posts[0].text, 140),
                summary=clip(" ".join(parts), 560),
                topic="other",
                citations=tuple(p.post_id for p in thread.posts[:50]),
                score=float(len(thread.posts)),
            )
        )
    people = Counter(_who(p) for p in posts)
    active = ", ".join(f"{a} ({n})" for a, n in people.most_common(5))
    before = build_threads(previous)
    old_terms = Counter[str]()
    for t in before:
        old_terms.update(dict(t.terms.most_common(3)))
    new_terms = Counter[str]()
    for t in threads:
        new_terms.update(dict(t.terms.most_common(3)))
    continuing = sorted(set(old_terms) & set(new_terms))[:5]
    if ru:
        notes = (
            f"Активные участники: {active or 'нет'}",
            f"Сравнение с прошлым окном: сообщений {len(posts)} (было {len(previous)}), "
            f"веток {len(threads)} (было {len(before)}); продолжаются: "
            f"{', '.join(continuing) or 'ничего'}",
        )
    else:
        notes = (
            f"Most active: {active or 'nobody'}",
            f"Compared with the previous window: {len(posts)} messages (was {len(previous)}), "
            f"{len(threads)} threads (was {len(before)}); continuing: "
            f"{', '.join(continuing) or 'nothing'}",
        )
    return Draft(strategy="threads", items=tuple(items), notes=notes)
