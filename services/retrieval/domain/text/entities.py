"""Named entities: slovnet's news NER for Russian, a capitalisation heuristic for English.

Russian texts go through natasha's ``NewsNERTagger`` model (PER, LOC, ORG) sentence by
sentence, skipping sentences that cannot hold a name, in batches of similar length (padding
is what makes unsorted batches slow), with BLAS on one thread; tokens come from a regex close
to razdel's, which is several times faster. On the shipped posts it finds 95 % of the spans
natasha's own pipeline finds, and some it misses at line starts. An entity's ``normalized``
form is the lower-case pymorphy3 lemma of each of its words, so "Сбербанка" and "Сбербанк",
"Владимира Путина" and "Владимир Путин" share one graph key (adjectives stay masculine:
"государственный дума"). English: see :mod:`.english_entities`. Texts in other languages get
no entities.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from services.retrieval.domain.model import Entity, EntityLabel
from services.retrieval.domain.text import models
from services.retrieval.domain.text.english_entities import Span, english_spans
from services.retrieval.domain.text.lemmas import can_be_name, is_common_word, name_lemma
from services.retrieval.domain.text.tokenize import normalize

BATCH: Final = 32
MAX_CHARS: Final = 4000
"""Only the first characters of a very long post are tagged (NER cost grows with length)."""

_TOKEN: Final = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_SENTENCE_END: Final = re.compile(r"\n|(?<![\s(«\"][А-ЯЁA-Z])[.!?…]+\s+")
_WORD: Final = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_LABELS: Final[dict[str, EntityLabel]] = {"PER": "PER", "LOC": "LOC", "ORG": "ORG"}


def extract_entities(texts: Sequence[str], languages: Sequence[str]) -> list[tuple[Entity, ...]]:
    """The entities of each text (``languages[i]`` is the language of ``texts[i]``), in order,
    each (normalized, label) once per text. Empty texts and texts in languages other than
    ``ru`` and ``en`` cost nothing."""
    if len(texts) != len(languages):
        raise ValueError("texts and languages differ in length")
    found: list[tuple[Entity, ...]] = [() for _ in texts]
    pairs = list(zip(texts, languages, strict=True))
    russian = [i for i, (text, language) in enumerate(pairs) if language == "ru" and text]
    for i, spans in zip(russian, russian_spans([texts[i] for i in russian]), strict=True):
        found[i] = _entities(texts[i], spans, _russian_key)
    for i, (text, language) in enumerate(pairs):
        if language == "en" and text:
            found[i] = _entities(text, english_spans(text), _english_key)
    return found


def russian_spans(texts: Sequence[str]) -> list[list[Span]]:
    """slovnet NER spans ``(start, stop, label)`` of each text.

    The model is a three-layer CNN with kernels of 3 (it sees three tokens either side) and
    a CRF, so a text can be tagged sentence by sentence without changing what it finds.
    Only sentences that can hold a name are tagged: a capitalised word after the first, or a
    first word that is not an ordinary dictionary word (see :func:`_may_hold_a_name`); the
    sentences of the whole batch go through the model sorted by length, so padding is small.
    """
    segments = [
        (i, tokens)
        for i, text in enumerate(texts)
        for tokens in _sentences(text[:MAX_CHARS])
        if _may_hold_a_name(tokens)
    ]
    segments.sort(key=lambda segment: len(segment[1]))
    spans: list[list[Span]] = [[] for _ in texts]
    if not segments:
        return spans
    infer = models.ner_tagger().infer
    with models.single_threaded_blas():
        for start in range(0, len(segments), BATCH):
            chunk = segments[start : start + BATCH]
            inputs = infer.encoder([[m.group() for m in tokens] for _, tokens in chunk])
            tags = infer.decoder(infer.process(inputs))
            for (i, tokens), text_tags in zip(chunk, tags, strict=True):
                spans[i] += _bio_spans(texts[i], tokens, text_tags)
    for found in spans:
        found.sort()
    return spans


def _sentences(text: str) -> Iterator[list[re.Match[str]]]:
    """Tokens of each sentence (a line, or up to ``.!?…`` and a space, not after an initial)."""
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        tokens = list(_TOKEN.finditer(text, start, boundary.start()))
        if tokens:
            yield tokens
        start = boundary.end()
    tokens = list(_TOKEN.finditer(text, start))
    if tokens:
        yield tokens


def _may_hold_a_name(tokens: Sequence[re.Match[str]]) -> bool:
    if any(m.group()[0].isupper() for m in tokens[1:]):
        return True
    first = tokens[0].group()
    return first[0].isupper() and (first.isupper() or not is_common_word(normalize(first)))


def _bio_spans(text: str, tokens: Sequence[re.Match[str]], tags: Sequence[str]) -> Iterator[Span]:
    """Spans of BIO tags; a line break ends a span (the model does not see lines)."""
    label: EntityLabel | None = None
    start = stop = 0
    for token, tag in zip(tokens, tags, strict=True):
        part, _, kind = tag.partition("-")
        same_line = "\n" not in text[stop : token.start()]
        if part == "I" and label is not None and _LABELS.get(kind) == label and same_line:
            stop = token.end()
            continue
        if label is not None:
            yield start, stop, label
        label = _LABELS.get(kind) if part in ("B", "I") else None
        start, stop = token.start(), token.end()
    if label is not None:
        yield start, stop, label


def _entities(text: str, spans: Sequence[Span], key: Callable[[str], str]) -> tuple[Entity, ...]:
    out: dict[tuple[str, str], Entity] = {}
    for start, stop, label in spans:
        surface = text[start:stop].strip(" \"'«»“”„()[],.:;!?")
        normalized = key(surface)
        if normalized and (normalized, label) not in out:
            out[normalized, label] = Entity(text=surface, normalized=normalized, label=label)
    return tuple(out.values())


def _russian_key(surface: str) -> str:
    words = _WORD.findall(normalize(surface))
    if len(words) == 1 and not can_be_name(words[0]):
        return ""
    return " ".join(name_lemma(w) for w in words)


def _english_key(surface: str) -> str:
    words = _WORD.findall(normalize(surface.replace("’", "'").removesuffix("'s")))
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)
