"""Stage 1: cue patterns and follow-up shape decide the clear cases, and say when unsure.

Rules run in a fixed order and the first that fires decides; the order resolves overlaps
between routes: help and slash commands, then the user's own history (memory: "мой
последний дайджест" mentions a digest but asks about a run), then off-topic requests, then
follow-ups, then trend before digest (a "trending" question that also says "what's new" is
a trend question), then questions of fact. A trend or digest cue inside reported speech or
a question of fact ("Почему тренд на удалёнку сошёл на нет?", "Summarize what Putin said")
is the subject of a question, so it routes to ``qa`` — unless the query asks what is
trending outright ("тренды", "в тренде", "о чём все говорят"). Nothing fired: unsure (``route`` is
None) and the semantic stage decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from services.router.routing import lexicon as lx
from services.router.routing.model import RouteName
from services.router.routing.text import Analysed

CLEAR: Final = 0.9
"""Confidence of a rule that names its route outright."""
SUBJECT: Final = 0.75
"""A route word that is the subject of a question of fact (routes to qa)."""
FOLLOWUP: Final = 0.85
QUESTION: Final = 0.8

_SLASH: Final[dict[str, RouteName]] = {
    "help": "help", "start": "help", "digest": "digest", "trend": "trend", "trends": "trend",
    "status": "memory", "history": "memory",
}  # fmt: skip
_SHORT: Final = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    """What stage 1 concluded: a route (None when unsure), and whether it is inherited."""

    route: RouteName | None
    confidence: float
    rule: str
    followup: bool = False


UNSURE: Final = Verdict(None, 0.0, "none")


def followup_shaped(rest: str, has_window: bool) -> bool:
    """Whether the query, its time phrase taken out, only makes sense after another turn.

    Every word is a filler ("а", "что", "ещё", "and", "more"…) and either a follow-up
    marker is there ("ещё", "подробнее", "else", "more", "go on") or a connective opens a
    bare time phrase ("а вчера?", "and for last week?").
    """
    words = rest.split()
    if not all(w in lx.FOLLOWUP_FILLER for w in words):
        return False
    if any(w in lx.FOLLOWUP_MARKER for w in words):
        return True
    return has_window and (not words or words[0] in lx.CONNECTIVE)


def decide(query: Analysed, rest: str, has_window: bool, previous: RouteName | None) -> Verdict:
    """Stage 1 on an analysed query; ``rest`` is its lemma text without the time phrase."""
    haystack = f"{query.lemma_text} | {' '.join(query.tokens)}"
    for rule in (_slash, _help, _memory, _unsupported):
        verdict = rule(query, haystack)
        if verdict is not None:
            return verdict
    if previous is not None and followup_shaped(rest, has_window):
        return Verdict(previous, FOLLOWUP, "followup", followup=True)
    return _topical(query, haystack, rest, has_window)


def _slash(query: Analysed, haystack: str) -> Verdict | None:
    raw = query.raw.strip().lower()
    if not raw.startswith("/"):
        return None
    route = _SLASH.get(raw[1:].split(maxsplit=1)[0] if len(raw) > 1 else "", "help")
    return Verdict(route, 0.95, "slash")


def _help(query: Analysed, haystack: str) -> Verdict | None:
    if not query.tokens:
        return Verdict("help", 0.6, "empty")
    if all(t in lx.SMALL_TALK or lemma in lx.SMALL_TALK for t, lemma in _pairs(query)):
        return Verdict("help", CLEAR, "small_talk")
    if lx.HELP.search(haystack):
        return Verdict("help", CLEAR, "help")
    if len(query.tokens) <= _SHORT and lx.HELP_WORDS.search(haystack):
        return Verdict("help", CLEAR, "help_word")
    return None


def _memory(query: Analysed, haystack: str) -> Verdict | None:
    return Verdict("memory", CLEAR, "memory") if lx.MEMORY.search(haystack) else None


def _unsupported(query: Analysed, haystack: str) -> Verdict | None:
    off_topic = lx.UNSUPPORTED.search(haystack) or lx.MATH.search(query.raw)
    if off_topic and not lx.NEWS_CONTEXT.search(haystack):
        return Verdict("unsupported", CLEAR, "unsupported")
    return None


def _topical(query: Analysed, haystack: str, rest: str, has_window: bool) -> Verdict:
    subject = lx.REPORTED.search(haystack) is not None
    if lx.TREND.search(haystack):
        why = lx.WHY.search(haystack) is not None
        return Verdict("qa", SUBJECT, "trend_subject") if why else _clear("trend")
    if lx.TREND_WORD.search(haystack):
        return Verdict("qa", SUBJECT, "trend_subject") if subject else _clear("trend")
    digest = (
        lx.DIGEST.search(haystack) is not None
        or lx.WHATS_NEW.match(rest) is not None
        or (has_window and lx.WHAT_HAPPENED.match(rest) is not None)
        or (lx.BRIEFLY.search(haystack) is not None and has_window)
    )
    if digest:
        return Verdict("qa", SUBJECT, "digest_subject") if subject else _clear("digest")
    if lx.QA.search(haystack):
        return Verdict("qa", QUESTION, "question")
    return UNSURE


def _clear(route: RouteName) -> Verdict:
    return Verdict(route, CLEAR, route)


def _pairs(query: Analysed) -> zip[tuple[str, str]]:
    return zip(query.tokens, query.lemmas, strict=True)
