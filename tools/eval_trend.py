"""Trend quality: story-pair F1 of the clusterer's own decision, and detection lead times.

``python -m tools.eval_trend`` (or ``make eval-trend``):

- **pairs**: the Russian pools of ``ru-news-clustering`` (40 human-labelled "same story?"
  pairs). Each article becomes a post the way the stream would carry it: title and text, cut
  at the first sentence end after ``--post-chars`` characters (the median Telegram post of the
  shipped sample is ~250 characters), analysed and embedded exactly as the retrieval service
  does (``analyze_batch``, the offline ``NavecEmbedder``). The decision is the clusterer's own,
  made by the clusterer: the tenant's state is first fed every shipped Telegram post (22 099,
  cleaned as the indexer cleans them), which is how its document frequencies — the idf of the
  lexical signal (``services.trend.domain.lexical``) — come about in the service; then, per
  pair, a copy of that state with no stories gets the first post and the second, and the pair
  is "same story" when the second joins the first's story (``services.trend.domain.similarity``:
  words decide among embedding candidates; ``services.trend.domain.arguments``: not when the
  two name different days or different people). Beside it, in the same run, the baseline: TF-IDF
  cosine (the retrieval service's Snowball stems, IDF over the pairs' own texts) with the
  threshold that maximises F1 *on the same pairs* — an optimistic baseline. Precision, recall
  and F1 are on the OK (same story) class, per pool and over both. **Held out**: ``ru_train``
  is the only pool anything is tuned on and ``ru_exam`` is scored (the clusterer's parameters
  are fixed settings, its ``lexical_threshold`` the middle of the thresholds that maximise F1
  on ``ru_train``, which the run reports; TF-IDF's threshold is tuned on ``ru_train``). The
  argument test has nothing fitted to the pairs, but it was designed after reading the errors
  of both pools, so for it ``ru_exam`` is not an unseen pool. **Ceiling**: the best F1 a
  threshold on one signal (the clusterer's lexical cosine behind its embedding gate and
  argument test, the navec cosine, the baseline TF-IDF cosine) reaches when tuned on all 40
  pairs — an upper bound for that signal on these pairs, not a result. The English pool (35
  pairs) is scored with the same settings as a sanity check, and the pairs the clusterer gets
  wrong are listed.
- **lead times**: the 2024-11-26..12-04 window of ``tg-ru-news-channels`` is replayed through
  the trend engine in event-time order (posts built as ``posts.indexed.v1`` would carry them).
  For each trend's first announcement: the delay after the story's first post, and how long
  before the story reached 5 distinct channels it was announced (negative: after; absent
  when it never reached 5). And how many posts the argument test kept out of a story they
  matched in words (``trend_posts_kept_apart_total``), the measure of what it changes on a
  real stream.

Prints a table and writes ``reports/eval-trend.json``. About a minute and a half on two cores,
most of it the NER of the replay (``--cache FILE`` keeps the built replay for the next run).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

from prometheus_client import CollectorRegistry

from contracts.v1.posts import Entity, PostIndexed
from services.retrieval.adapters.embedders.navec import NavecEmbedder
from services.retrieval.domain.model import Analysis
from services.retrieval.domain.text import analyze_batch
from services.retrieval.domain.text.cleaning import clean
from services.retrieval.domain.text.simhash import hamming
from services.retrieval.domain.text.tokenize import content_words
from services.retrieval.domain.text.tokenize import stems as retrieval_stems
from services.trend.adapters.memory import MemoryTrendStore
from services.trend.domain.arguments import conflicting
from services.trend.domain.lexical import DocumentFrequencies, dot
from services.trend.domain.lexical import stems as lexical_stems
from services.trend.domain.model import IncomingPost
from services.trend.domain.similarity import margin, signature
from services.trend.domain.tenant import TenantState
from services.trend.engine import TrendEngine
from services.trend.intake import to_incoming
from services.trend.metrics import build_trend_metrics
from services.trend.ports import Detection, HeldPost
from services.trend.settings import TrendSettings
from tools.dataset import channel_posts, data_dir
from tools.report import write_report

WINDOW: Final = (datetime(2024, 11, 26, tzinfo=UTC), datetime(2024, 12, 5, tzinfo=UTC))
POOLS: Final = ("ru_train_pool.tsv", "ru_exam_pool.tsv")
EN_POOL: Final = "en_train_pool.tsv"
PAIR_DATE: Final = datetime(2024, 12, 5, 12, tzinfo=UTC)
"""When the pairs' posts arrive: after the shipped stream (the tenant's history)."""
NEAR_DUPLICATE_BITS: Final = 3  # as the retrieval service's indexer
REACH: Final = 5
_SENTENCE: Final = re.compile(r"[.!?…](?=\s)")


# -- the replay ----------------------------------------------------------------------------


def _indexed(tenant: str, post: Any, a: Analysis, vector: list[float], dup: str | None) -> Any:
    return PostIndexed(
        post_id=f"{tenant}:{post.channel_id}:{post.message_id}",
        channel_id=post.channel_id,
        channel_title=post.channel_title,
        message_id=post.message_id,
        date=post.date,
        chat_kind="channel",
        language=a.language if len(a.language) == 2 else None,
        text=a.clean_text,
        entities=[
            Entity(text=e.text[:256], normalized=e.normalized[:256], label=e.label)
            for e in a.entities[:200]
        ],
        keywords=list(a.keywords[:50]),
        embedding_model=NavecEmbedder.__name__.lower(),
        embedding=vector,
        duplicate_of=dup,
        permalink=post.permalink,
        stores=["postgres", "qdrant", "neo4j"],
    )


def build_replay(tenant: str = "replay", cache: Path | None = None) -> list[PostIndexed]:
    """The window's posts as ``posts.indexed.v1`` payloads of ``tenant``, in event-time order
    (date, channel, message): cleaned text, entities, keywords and the navec vector from the
    retrieval service's own code, reposts marked like its indexer does (the earliest post
    within 3 SimHash bits). Posts with no text left after cleaning are left out, as the
    indexer would embed nothing useful. ``cache`` is read if present, else written."""
    if cache is not None and cache.exists():
        rows = json.loads(cache.read_text(encoding="utf-8"))
        return [PostIndexed.model_validate(_retenant(r, tenant)) for r in rows]
    posts = sorted(
        (p for p in channel_posts() if WINDOW[0] <= p.date < WINDOW[1]),
        key=lambda p: (p.date, p.channel_id, p.message_id),
    )
    analyses = analyze_batch([p.text for p in posts])
    vectors = NavecEmbedder().vectors([a.clean_text for a in analyses]).tolist()
    out: list[PostIndexed] = []
    originals: list[tuple[int, str]] = []
    for post, a, vector in zip(posts, analyses, vectors, strict=True):
        if not a.clean_text:
            continue
        twin = next((pid for h, pid in originals if hamming(h, a.simhash) <= 3), None)
        event = _indexed(tenant, post, a, vector, twin)
        if twin is None:
            originals.append((a.simhash, event.post_id))
        out.append(event)
    if cache is not None:
        cache.write_text(json.dumps([p.model_dump(mode="json") for p in out]), encoding="utf-8")
    return [PostIndexed.model_validate(_retenant(p.model_dump(), tenant)) for p in out]


def _retenant(row: dict[str, Any], tenant: str) -> dict[str, Any]:
    def swap(post_id: str | None) -> str | None:
        return None if post_id is None else tenant + ":" + post_id.split(":", 1)[1]

    return {**row, "post_id": swap(row["post_id"]), "duplicate_of": swap(row["duplicate_of"])}


class _Collect:
    """A detection sink that keeps what it is given."""

    def __init__(self) -> None:
        self.detections: list[Detection] = []

    async def publish(self, detection: Detection) -> None:
        self.detections.append(detection)


@dataclass(frozen=True)
class ReplayRun:
    """What one replay through the engine produced."""

    detections: list[Detection]
    store: MemoryTrendStore
    seconds: float
    posts: int
    kept_apart: dict[str, int]
    """Posts kept out of a story they matched in words, by the argument that differed."""


async def replay(
    events: Sequence[PostIndexed], tenant: str, *, batch: int = 500, settings: Any = None
) -> ReplayRun:
    """Feed ``events`` (in order) to a fresh engine on an in-memory store, ``batch`` at a time."""
    s = settings or TrendSettings(postgres_dsn="postgresql://unused@localhost/unused")
    store, sink, registry = MemoryTrendStore(), _Collect(), CollectorRegistry()
    engine = TrendEngine(
        store,
        sink,
        build_trend_metrics(registry),
        stories=s.story_params(),
        burst=s.burst_params(),
        monotonic=time.monotonic,
        idle_partition_s=s.idle_partition_s,
    )
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        await engine.receive([HeldPost(tenant, None, e) for e in events[i : i + batch]])
    await engine.drain()
    seconds = time.perf_counter() - started
    kept_apart = {
        argument: int(
            registry.get_sample_value("trend_posts_kept_apart_total", {"argument": argument}) or 0
        )
        for argument in ("days", "people")
    }
    return ReplayRun(sink.detections, store, seconds, len(events), kept_apart)


def lead_times(run: ReplayRun, tenant: str) -> list[dict[str, Any]]:
    """Per trend (first announcement): delay after the first post, and lead over the moment
    its story reached ``REACH`` distinct channels (members as finally stored)."""
    members: dict[str, list[str]] = {}
    for (t, post_id), story_id in run.store.members.items():
        if t == tenant:
            members.setdefault(_final(run.store, tenant, story_id), []).append(post_id)
    dates = {}
    for story in run.store.stories.values():
        for m in story.members:
            dates[m.post_id] = (m.date, m.channel_id)
    first: dict[str, Detection] = {}
    for d in run.detections:
        first.setdefault(d.payload.trend_id, d)
    out = []
    for trend_id, d in first.items():
        timeline = sorted(dates[p] for p in members.get(_final(run.store, tenant, trend_id), []))
        reached = _reach_time(timeline, REACH)
        lead = None if reached is None else (reached - d.detected_at).total_seconds() / 60
        out.append(
            {
                "trend_id": trend_id,
                "kind": d.payload.kind,
                "delay_min": round(
                    (d.detected_at - d.payload.first_seen_at).total_seconds() / 60, 1
                ),
                "lead_to_5_channels_min": None if lead is None else round(lead, 1),
            }
        )
    return out


def _final(store: MemoryTrendStore, tenant: str, story_id: str) -> str:
    seen = set()
    while story_id not in seen:
        seen.add(story_id)
        story = store.stories.get((tenant, story_id))
        if story is None or story.merged_into is None:
            return story_id
        story_id = story.merged_into
    return story_id


def _reach_time(timeline: list[tuple[datetime, str]], n: int) -> datetime | None:
    channels: set[str] = set()
    for when, channel in timeline:
        channels.add(channel)
        if len(channels) >= n:
            return when
    return None


# -- the pairs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    pool: str
    first: str
    second: str
    same: bool
    titles: tuple[str, str] = ("", "")


def read_pairs(folder: Path, pools: Sequence[str] = POOLS) -> list[Pair]:
    """The pools' pairs as post-like texts (title, newline, text)."""
    csv.field_size_limit(sys.maxsize)
    pairs = []
    for name in pools:
        with (folder / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                titles = (row["INPUT:first_title"], row["INPUT:second_title"])
                pairs.append(
                    Pair(
                        pool=name.removesuffix("_pool.tsv"),
                        first=titles[0] + "\n" + row["INPUT:first_text"],
                        second=titles[1] + "\n" + row["INPUT:second_text"],
                        same=row["GOLDEN:quality"] == "OK",
                        titles=titles,
                    )
                )
    return pairs


def as_post(text: str, chars: int) -> str:
    """``text`` cut at the first sentence end after ``chars`` characters."""
    if len(text) <= chars:
        return text
    end = _SENTENCE.search(text, chars)
    return text[: end.end()] if end is not None and end.end() - chars < 300 else text[:chars]


def scores(pred: Sequence[bool], gold: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of the positive class."""
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def tfidf_cosines(firsts: list[str], seconds: list[str]) -> list[float]:
    """The baseline: TF-IDF (1 + log tf, log N/df) cosine of each pair of texts over the
    retrieval service's Snowball stems, document frequencies over the pairs' own texts."""
    docs = [Counter(retrieval_stems(content_words(t))) for t in firsts + seconds]
    df: Counter[str] = Counter(term for d in docs for term in d)
    n = len(docs)
    vecs = [{t: (1 + math.log(c)) * math.log(n / df[t]) for t, c in d.items()} for d in docs]

    def cos(a: dict[str, float], b: dict[str, float]) -> float:
        na = math.sqrt(sum(v * v for v in a.values()))
        nb = math.sqrt(sum(v * v for v in b.values()))
        return dot(a, b) / (na * nb) if na and nb else 0.0

    half = len(firsts)
    return [cos(vecs[i], vecs[half + i]) for i in range(half)]


def tune_threshold(values: Sequence[float], gold: Sequence[bool]) -> float:
    """The threshold on ``values`` that maximises F1 on ``gold`` (ties: the lowest one)."""
    best = max(
        ((scores([v >= t for v in values], gold)["f1"], t) for t in sorted(set(values))),
        key=lambda ft: (ft[0], -ft[1]),
    )
    return best[1]


def best_interval(values: Sequence[float], gold: Sequence[bool]) -> tuple[float, float]:
    """The widest interval ``(lo, hi]`` of thresholds that all maximise F1 on ``gold``; its
    midpoint is the max-margin choice (F1 only changes at the values themselves)."""
    ordered = sorted(set(values))
    f1s = [scores([v >= t for v in values], gold)["f1"] for t in ordered]
    top = max(f1s)
    best = (0.0, 0.0)
    for k, (t, f) in enumerate(zip(ordered, f1s, strict=True)):
        lo = ordered[k - 1] if k else t
        if f == top and t - lo >= best[1] - best[0]:
            best = (lo, t)
    return best


def _ceiling(values: Sequence[float], gold: Sequence[bool]) -> dict[str, float]:
    """The best F1 any threshold on ``values`` reaches when tuned on ``gold`` itself."""
    t = tune_threshold(values, gold)
    return {"threshold": round(t, 4), **scores([v >= t for v in values], gold)}


def stream_history(settings: TrendSettings) -> DocumentFrequencies:
    """The document frequencies a tenant following the shipped channels has kept: every
    shipped post (22 099, all dates; 22 082 keep text after cleaning) processed by the
    tenant's state in event-time order, with the text the retrieval indexer would ship
    (cleaned). No embeddings: for these posts only their words matter here, and a post
    without one is still counted."""
    state = TenantState("history", settings.story_params(), settings.burst_params())
    posts = sorted(channel_posts(), key=lambda p: (p.date, p.channel_id, p.message_id))
    for p in posts:
        text = clean(p.text)
        if not text:
            continue
        state.process(
            IncomingPost(
                tenant_id="history",
                post_id=f"history:{p.channel_id}:{p.message_id}",
                channel_id=p.channel_id,
                message_id=p.message_id,
                date=p.date,
                text=text[:1000],
                embedding_model="none",
                vector=None,
            )
        )
    return state.clusterer.frequencies


@dataclass(frozen=True)
class Decision:
    """The clusterer's decision on one pair, and the figures it was made on."""

    same: bool
    embedding_cosine: float
    lexical_cosine: float
    margin: float
    incompatible: bool
    """The two name different days or different people (``domain.arguments``)."""


def _as_posts(texts: Sequence[str]) -> list[IncomingPost]:
    """Articles as the posts the trend service would get (analysed and embedded as the
    retrieval service does), two channels alternating, a minute apart."""
    analyses = analyze_batch(texts)
    vectors = NavecEmbedder().vectors([a.clean_text for a in analyses]).tolist()
    out = []
    for i, (a, vector) in enumerate(zip(analyses, vectors, strict=True)):
        source = SimpleNamespace(
            channel_id="ab"[i % 2],
            channel_title=None,
            message_id=i + 1,
            date=PAIR_DATE + timedelta(minutes=i),
            permalink=None,
        )
        out.append(to_incoming("pairs", _indexed("pairs", source, a, vector, None)))
    return out


def decide(
    first: IncomingPost, second: IncomingPost, history: DocumentFrequencies, s: TrendSettings
) -> Decision:
    """Feed ``first`` then ``second`` to a tenant state that has ``history``'s document
    frequencies and no stories: the same story when the second joins the first's. The
    figures beside it are recomputed the clusterer's way (and checked against its verdict)."""
    state = TenantState("pairs", s.story_params(), s.burst_params())
    state.load([], [], documents=history.docs, frequencies=history.counts.items())
    state.process(first)
    state.process(second)
    story = state.clusterer.story_of(first.post_id)
    same = story is not None and story is state.clusterer.story_of(second.post_id)
    sim = s.story_params().similarity
    df = DocumentFrequencies(s.idf_cap)
    df.load(history.docs, history.counts.items())
    words = []
    for post in (first, second):
        tf = lexical_stems(post.text)
        df.add(tf)
        words.append(df.vector(tf))
    assert first.vector is not None
    assert second.vector is not None
    embedding = float(first.vector @ second.vector)
    lexical = dot(words[0], words[1])
    shared = len(second.terms & signature(Counter(first.terms), sim.signature_terms))
    m = margin(lexical, shared, 1, 1, sim)
    apart = conflicting(first.days, first.people, second.days, second.people) is not None
    assert same == (embedding >= sim.candidate_cosine and m >= 0 and not apart), "eval out of step"
    return Decision(same, embedding, lexical, m, apart)


def _gated(d: Decision, gate: float) -> float:
    """The lexical cosine as the decision sees it: no candidate below the embedding gate, and
    none when the two name different days or people."""
    return d.lexical_cosine if d.embedding_cosine >= gate and not d.incompatible else -1.0


def pair_eval(folder: Path, settings: TrendSettings, post_chars: int) -> dict[str, Any]:
    """The clusterer's decision vs a TF-IDF baseline on the Russian pools (and, as a sanity
    check, the English one).

    - ``clusterer``: the clusterer's own decision with its configured parameters, on a tenant
      whose document frequencies come from the shipped stream (:func:`stream_history`);
    - ``tfidf_tuned``: TF-IDF cosine (idf over the pairs' own texts) with the threshold tuned
      on all pairs (optimistic: tuned on the pairs it is scored on);
    - ``held_out``: the protocol without that optimism: ``ru_train`` is the only pool anything
      may be tuned on, ``ru_exam`` is scored; the clusterer's parameters are fixed settings
      (``lexical_threshold`` is the middle of the interval of thresholds that maximise F1 on
      ``ru_train``, reported as ``tuned_on_ru_train``), TF-IDF's threshold is tuned on
      ``ru_train``;
    - ``ceiling``: the best F1 a threshold on one signal reaches when tuned on all pairs — the
      clusterer's lexical cosine (behind its embedding gate and argument test), the embedding
      cosine, the
      baseline TF-IDF cosine. Not a result (tuned on the test pairs) but an upper bound;
    - ``errors``: the pairs the clusterer gets wrong, with their figures.
    """
    sim = settings.story_params().similarity
    history = stream_history(settings)
    pairs = read_pairs(folder)
    en = read_pairs(folder, (EN_POOL,))
    posts = _as_posts([as_post(t, post_chars) for p in pairs + en for t in (p.first, p.second)])
    decisions = [
        decide(posts[2 * i], posts[2 * i + 1], history, settings)
        for i in range(len(pairs) + len(en))
    ]
    ru, en_decisions = decisions[: len(pairs)], decisions[len(pairs) :]
    gold = [p.same for p in pairs]
    ours = [d.same for d in ru]
    texts = [p.text for p in posts[: 2 * len(pairs)]]
    tfidf = tfidf_cosines(texts[::2], texts[1::2])
    threshold = tune_threshold(tfidf, gold)
    base = [s >= threshold for s in tfidf]
    train = [i for i, p in enumerate(pairs) if p.pool == "ru_train"]
    exam = [i for i, p in enumerate(pairs) if p.pool == "ru_exam"]
    exam_gold = [gold[i] for i in exam]
    train_gold = [gold[i] for i in train]
    train_threshold = tune_threshold([tfidf[i] for i in train], train_gold)
    lexical = [_gated(d, sim.candidate_cosine) for d in ru]
    lo, hi = best_interval([lexical[i] for i in train], train_gold)
    en_texts = [p.text for p in posts[2 * len(pairs) :]]
    en_gold = [p.same for p in en]
    en_tfidf = tfidf_cosines(en_texts[::2], en_texts[1::2])
    en_threshold = tune_threshold(en_tfidf, en_gold)
    out: dict[str, Any] = {
        "pairs": len(pairs),
        "same_story_pairs": sum(gold),
        "post_chars": post_chars,
        "decision": {
            "lexical_threshold": sim.lexical_threshold,
            "candidate_cosine": sim.candidate_cosine,
            "term_bonus": sim.term_bonus,
            "term_cap": sim.term_cap,
            "kept_apart": {
                label: sum(
                    1
                    for p, d in zip(pairs, ru, strict=True)
                    if p.same == same
                    and d.incompatible
                    and d.margin >= 0
                    and d.embedding_cosine >= sim.candidate_cosine
                )
                for label, same in (("BAD", False), ("OK", True))
            },
            "history_posts": history.docs,
            "history_stems": len(history.counts),
            "tuned_on_ru_train": {
                "best_thresholds": [round(lo, 4), round(hi, 4)],
                "midpoint": round((lo + hi) / 2, 4),
                "f1": scores([lexical[i] >= hi for i in train], train_gold)["f1"],
            },
        },
        "tfidf_threshold": round(threshold, 4),
        "clusterer": scores(ours, gold),
        "tfidf_tuned": scores(base, gold),
        "held_out": {
            "tuned_on": "ru_train",
            "scored_on": "ru_exam",
            "tfidf_threshold": round(train_threshold, 4),
            "clusterer": scores([ours[i] for i in exam], exam_gold),
            "tfidf": scores([tfidf[i] >= train_threshold for i in exam], exam_gold),
        },
        "ceiling": {
            "clusterer_decision": _ceiling(lexical, gold),
            "embedding_cosine": _ceiling([d.embedding_cosine for d in ru], gold),
            "tfidf_cosine": _ceiling(tfidf, gold),
        },
        "per_pool": {},
        "en_train": {
            "pairs": len(en),
            "same_story_pairs": sum(en_gold),
            "clusterer": scores([d.same for d in en_decisions], en_gold),
            "tfidf_threshold": round(en_threshold, 4),
            "tfidf_tuned": scores([s >= en_threshold for s in en_tfidf], en_gold),
        },
        "errors": [
            {
                "pool": p.pool,
                "gold": "OK" if p.same else "BAD",
                "titles": list(p.titles),
                "embedding_cosine": round(d.embedding_cosine, 3),
                "lexical_cosine": round(d.lexical_cosine, 3),
                "margin": round(d.margin, 3),
            }
            for p, d in zip(pairs, ru, strict=True)
            if p.same != d.same
        ],
    }
    for pool in sorted({p.pool for p in pairs}):
        idx = [i for i, p in enumerate(pairs) if p.pool == pool]
        g = [gold[i] for i in idx]
        out["per_pool"][pool] = {
            "clusterer": scores([ours[i] for i in idx], g),
            "tfidf_tuned": scores([base[i] for i in idx], g),
        }
    return out


# -- the command ---------------------------------------------------------------------------


def _distribution(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "n": len(ordered),
        "p10": pct(0.10),
        "p50": pct(0.50),
        "p90": pct(0.90),
        "mean": round(statistics.fmean(ordered), 1),
    }


async def run(post_chars: int = 250, cache: Path | None = None) -> dict[str, Any]:
    """Both evaluations; the figures as a dict."""
    settings = TrendSettings(postgres_dsn="postgresql://unused@localhost/unused")
    pairs = pair_eval(data_dir() / "ru-news-clustering", settings, post_chars)
    events = build_replay("eval", cache)
    result = await replay(events, "eval")
    leads = lead_times(result, "eval")
    kinds = Counter(d.payload.kind for d in result.detections)
    lead_figures: dict[str, Any] = {
        "posts": len(events),
        "detections": dict(kinds),
        "trends": len(leads),
        "kept_apart": result.kept_apart,
    }
    for kind in ("emerging", "stable"):
        rows = [r for r in leads if r["kind"] == kind]
        reached = [
            r["lead_to_5_channels_min"] for r in rows if r["lead_to_5_channels_min"] is not None
        ]
        lead_figures[kind] = {
            "delay_after_first_post_min": _distribution([r["delay_min"] for r in rows]),
            "lead_before_5_channels_min": _distribution(reached),
            "announced_before_5_channels": sum(1 for v in reached if v > 0),
            "never_reached_5_channels": len(rows) - len(reached),
        }
    return {"pairs": pairs, "lead_times": lead_figures, "engine_seconds": round(result.seconds, 2)}


def _print(figures: dict[str, Any]) -> None:
    pairs = figures["pairs"]
    decision = pairs["decision"]
    tuned = decision["tuned_on_ru_train"]
    print(f"\nStory pairs (ru-news-clustering, {pairs['pairs']} pairs, OK class)")
    print(
        f"  clusterer: TF-IDF cosine >= {decision['lexical_threshold']} (ru_train's best: "
        f"{tuned['best_thresholds'][0]}..{tuned['best_thresholds'][1]}) among embedding "
        f"cosine >= {decision['candidate_cosine']}; idf from {decision['history_posts']} posts"
    )
    apart = decision["kept_apart"]
    print(
        f"  kept apart for naming other days or people (words alone would join them): "
        f"{apart['BAD']} different-story pairs, {apart['OK']} same-story pairs"
    )
    print(f"  {'':<44}{'precision':>10}{'recall':>10}{'F1':>8}")
    rows = [
        ("clusterer decision, both pools", pairs["clusterer"]),
        (f"TF-IDF tuned on all pairs (>={pairs['tfidf_threshold']})", pairs["tfidf_tuned"]),
    ]
    for pool, both in pairs["per_pool"].items():
        rows += [
            (f"  {pool}: clusterer", both["clusterer"]),
            (f"  {pool}: TF-IDF tuned on all pairs", both["tfidf_tuned"]),
        ]
    held = pairs["held_out"]
    rows += [
        (f"held out ({held['scored_on']}): clusterer", held["clusterer"]),
        (f"held out: TF-IDF >={held['tfidf_threshold']}", held["tfidf"]),
    ]
    rows += [(f"ceiling: {k}", v) for k, v in pairs["ceiling"].items()]
    en = pairs["en_train"]
    rows += [
        (f"en_train ({en['pairs']} pairs): clusterer", en["clusterer"]),
        (f"en_train: TF-IDF tuned on them (>={en['tfidf_threshold']})", en["tfidf_tuned"]),
    ]
    for name, s in rows:
        print(f"  {name:<44}{s['precision']:>10}{s['recall']:>10}{s['f1']:>8}")
    print(
        f"  held out: thresholds tuned on {held['tuned_on']} only; ceiling: a threshold tuned "
        "on all pairs (an upper bound, not a result)"
    )
    print(f"\n  the clusterer's errors ({len(pairs['errors'])}):")
    for e in pairs["errors"]:
        print(
            f"  {e['gold']:<4}{e['pool']:<9} tfidf {e['lexical_cosine']:.3f}"
            f"  embedding {e['embedding_cosine']:.3f}  margin {e['margin']:+.3f}"
        )
        for title in e["titles"]:
            print(f"      {title[:100]}")
    leads = figures["lead_times"]
    print(
        f"\nReplay 2024-11-26..12-04: {leads['posts']} posts, announcements {leads['detections']}"
    )
    apart = leads["kept_apart"]
    print(
        f"  kept out of a story they matched in words (trend_posts_kept_apart_total): "
        f"{apart['days']} times for naming other days, {apart['people']} for other people"
    )
    print(f"  {'minutes':<40}{'n':>5}{'p10':>8}{'p50':>8}{'p90':>8}{'mean':>8}")
    for kind in ("emerging", "stable"):
        for name, key in (
            ("delay after first post", "delay_after_first_post_min"),
            ("lead before 5 channels", "lead_before_5_channels_min"),
        ):
            d = leads[kind][key]
            print(
                f"  {kind + ': ' + name:<40}{d.get('n', 0):>5}"
                + "".join(f"{d.get(k, ''):>8}" for k in ("p10", "p50", "p90", "mean"))
            )
        before = leads[kind]["announced_before_5_channels"]
        never = leads[kind]["never_reached_5_channels"]
        print(f"  {kind}: announced before reaching 5 channels: {before}, never reached 5: {never}")


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--post-chars", type=int, default=250, help="length of a post made from an article"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="JSON file to keep the built replay in"
    )
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.post_chars, args.cache))
    _print(figures)
    path = write_report("eval-trend", figures)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
