"""English named entities by capitalisation: no model ships for English here.

A run of capitalised words on one line (joined by "of", "the", "de"…; a possessive ends it)
is an entity. A sentence's first word is dropped when it is a function word or an opener
("Despite Manning's" is "Manning"), and a lone capitalised word that starts a sentence and is
frequent in navec's counts is not an entity. The label is ORG after an organisation word
("University", "Inc") or for a word in capitals ("NFL"), PER after a personal title ("Mr.",
"President"), MISC otherwise.

Limits: it cannot tell a person from a place or a team (most entities are MISC); a name at
the start of a sentence is missed when it is also a common word ("Bill", "Apple"); names
written in lower case are missed; a title-cased heading is one long entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from servicekit.stopwords import EN as EN_STOPWORDS
from services.retrieval.domain.model import EntityLabel
from services.retrieval.domain.text import models

Span = tuple[int, int, EntityLabel]
"""``(start, stop, label)`` character offsets of an entity in its text."""


def _words(listing: str) -> frozenset[str]:
    return frozenset(listing.split())


_EN_WORD: Final = re.compile(r"[A-Za-z][\w&'’.-]*[\w&]|[A-Z]")
_EN_CONNECTORS: Final = frozenset({"of", "the", "de", "da", "del", "van", "von", "for", "&"})
_EN_ORG: Final = _words(
    "Inc Corp Corporation Company Co Ltd LLC Group Bank University College Institute School "
    "Party Association Council Committee Commission League Club Agency Ministry Department "
    "Foundation Society Union Church Academy Museum Times Post News Network Airlines Army"
)
_EN_PERSON_TITLES: Final = _words(
    "Mr Mrs Ms Dr Sir Lady Lord President Senator Governor King Queen Prince Princess Pope "
    "Colonel Captain Professor Judge Mayor Minister Saint St"
)
_COMMON_SHARE: Final = 2e-5
_EN_OPENERS: Final = _words(
    "despite although however meanwhile according following unlike like since thus today "
    "yesterday tomorrow while when after before during"
)


def english_spans(text: str) -> list[Span]:
    """Runs of capitalised words of an English text, labelled by title words (see above)."""
    spans: list[Span] = []
    for run in _capitalised_runs(text):
        if _sentence_start(text, run[0].start()) and _opener(run[0].group(), len(run)):
            run = run[1:]
        titled = len(run) > 1 and run[0].group().rstrip(".") in _EN_PERSON_TITLES
        if titled:
            run = run[1:]
        if run:
            words = [m.group() for m in run]
            spans.append((run[0].start(), run[-1].end(), _english_label(words, titled)))
    return spans


def _capitalised_runs(text: str) -> Iterator[list[re.Match[str]]]:
    """Capitalised words on one line, joined by connectors; a possessive ends a run."""
    words = list(_EN_WORD.finditer(text))
    i = 0
    while i < len(words):
        if not _capitalised(words[i].group()):
            i += 1
            continue
        run = [words[i]]
        j = i
        while j + 1 < len(words) and not _possessive(words[j].group()):
            nxt = words[j + 1]
            if _capitalised(nxt.group()) and _adjacent(text, words[j], nxt):
                run.append(nxt)
                j += 1
            elif (
                nxt.group().lower() in _EN_CONNECTORS
                and j + 2 < len(words)
                and _capitalised(words[j + 2].group())
                and _adjacent(text, words[j], nxt)
                and _adjacent(text, nxt, words[j + 2])
            ):
                run += [nxt, words[j + 2]]
                j += 2
            else:
                break
        yield run
        i = j + 1


def _opener(word: str, run_length: int) -> bool:
    """Whether a capitalised word that starts a sentence is there only as its first word:
    a function word, or (alone) any frequent word."""
    lower = word.lower()
    if lower in EN_STOPWORDS or lower in _EN_OPENERS:
        return True
    if run_length > 1:
        return False
    index = models.navec().vocab.word_ids.get(lower)
    share = 0.0 if index is None else float(models.word_probabilities()[index])
    return share > _COMMON_SHARE


def _possessive(word: str) -> bool:
    return word.endswith(("'s", "’s"))


def _capitalised(word: str) -> bool:
    return word[0].isupper() and word.lower() not in _EN_CONNECTORS


def _adjacent(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    gap = text[left.end() : right.start()]
    dotted_title = gap.strip() == "." and left.group() in _EN_PERSON_TITLES
    return (gap.strip() == "" or dotted_title) and "\n" not in gap


def _sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in ".!?:;\"'«(\n"


def _english_label(run: Sequence[str], titled: bool) -> EntityLabel:
    if titled:
        return "PER"
    if run[-1].rstrip(".") in _EN_ORG or (len(run) == 1 and run[0].isupper() and len(run[0]) > 1):
        return "ORG"
    return "MISC"
