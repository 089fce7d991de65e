"""Group digests: threads of a conversation window, their decisions and open questions.

A message joins a thread by the first of these cues that holds (each within its chat):

1. **reply link**: the thread of the message it replies to, when that message is in the window;
2. **address**: a message that opens by addressing an author of the chat (``nick: …``,
   ``Имя Фамилия, …``, ``@nick …``) joins that author's latest thread, when their latest
   message is at most ``address_window`` old (group chats without replies, e.g. IRC, write
   replies this way);
3. **author continuity**: the thread of the author's own latest message, when it is at most
   ``gap`` old;
4. **shared words**: the latest thread whose last message is at most ``gap`` old and shares at
   least ``min_shared`` stems with it, counting only stems not common in the chat so far
   (in fewer than ``max(3, common_share × messages)`` earlier messages);

else it starts a thread. The cues and their parameters were measured against human-annotated
IRC conversations and tuned on development samples only (``tools/eval_group_threads.py``).
Decisions are sentences with a decision cue ("решили", "договорились", "decided", "we
will"…); open questions are question sentences no later message of the thread replies to.
Deterministic for the same messages.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
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
#: "nick: …" / "Имя Фамилия, …": the words before the first colon or comma.
_NAMED: Final = re.compile(r"@?([^:,\n]{1,40}?)\s*[:,]")
#: "@nick …" without punctuation.
_AT: Final = re.compile(r"@(\S{1,40})")


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


@dataclass(frozen=True, slots=True)
class ThreadParams:
    """How a message without a reply link joins a thread (see the module docstring).

    The defaults were chosen on the ubuntu-dev and channel-two samples of
    ubuntu-irc-disentangle only (``tools/eval_group_threads.py``): a ``gap`` of 5 or 10
    minutes scores alike, 20 worse; the address window alike from 15 minutes to a day; one
    shared stem, or counting stems common in the chat, merges unrelated conversations. Three
    shared stems score a hair better there than two, but would leave a follow-up without a
    reply link ("релиз в пятницу подтверждаю") out of its thread."""

    gap: timedelta = timedelta(minutes=10)
    address_window: timedelta = timedelta(minutes=60)
    min_shared: int = 2
    common_share: float = 0.01


@dataclass(slots=True)
class _Chat:
    """What one chat's messages so far tell about the next one."""

    latest: dict[str, tuple[Post, Thread]] = field(default_factory=dict)
    """Author (case-folded) → their latest message and its thread."""
    tails: dict[str, tuple[Post, frozenset[str], Thread]] = field(default_factory=dict)
    """Thread id → its last message and that message's stems, least recently active first."""
    seen: Counter[str] = field(default_factory=Counter)
    messages: int = 0

    def place(
        self, post: Post, who: str | None, terms: frozenset[str], p: ThreadParams
    ) -> Thread | None:
        """The thread the cues 2–4 give ``post``, or ``None`` (a new thread)."""
        addressee = _addressee(post.text, self.latest, who)
        if addressee is not None:
            said, thread = self.latest[addressee]
            if post.date - said.date <= p.address_window:
                return thread
        if who is not None and who in self.latest:
            said, thread = self.latest[who]
            if post.date - said.date <= p.gap:
                return thread
        common = max(3.0, p.common_share * self.messages)
        rare = frozenset(t for t in terms if self.seen[t] < common)
        if len(rare) < p.min_shared:
            return None
        for last, last_terms, thread in reversed(self.tails.values()):
            if post.date - last.date > p.gap:
                break
            if len(rare & last_terms) >= p.min_shared:
                return thread
        return None

    def record(self, post: Post, who: str | None, terms: frozenset[str], thread: Thread) -> None:
        if who is not None:
            self.latest[who] = (post, thread)
        self.tails.pop(thread.thread_id, None)
        self.tails[thread.thread_id] = (post, terms, thread)
        self.seen.update(terms)
        self.messages += 1


def _author_key(post: Post) -> str | None:
    name = post.author_name or post.author_id
    return name.casefold() if name else None


def _addressee(text: str, authors: Mapping[str, object], who: str | None) -> str | None:
    """The known author (case-folded) ``text`` opens by addressing, other than ``who``."""
    head = text.lstrip()
    for pattern in (_NAMED, _AT):
        match = pattern.match(head)
        if match:
            name = match.group(1).strip().rstrip(".,:;!?").casefold()
            if name != who and name in authors:
                return name
    return None


def build_threads(posts: Sequence[Post], params: ThreadParams | None = None) -> list[Thread]:
    """Threads of ``posts`` (see the module docstring), in order of their first message."""
    p = params or ThreadParams()
    ordered = sorted(posts, key=lambda x: (x.date, x.channel_id, x.message_id, x.post_id))
    by_message: dict[tuple[str, int], Thread] = {}
    chats: dict[str, _Chat] = {}
    threads: list[Thread] = []
    for post in ordered:
        chat = chats.setdefault(post.channel_id, _Chat())
        who = _author_key(post)
        terms = frozenset(stems(post.text))
        target = None
        if post.reply_to_message_id is not None:
            target = by_message.get((post.channel_id, post.reply_to_message_id))
        if target is None:
            target = chat.place(post, who, terms, p)
        if target is None:
            target = Thread(thread_id="t" + hashlib.sha256(post.post_id.encode()).hexdigest()[:15])
            threads.append(target)
        target.posts.append(post)
        target.terms.update(terms)
        by_message[(post.channel_id, post.message_id)] = target
        chat.record(post, who, terms, target)
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
