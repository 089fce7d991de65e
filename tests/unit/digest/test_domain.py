"""Pure logic of the digest service: stories, ranking, rendering, verification, threads,
personas, the manifest cap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.llm import estimate_tokens
from services.digest.domain import manifest as mf
from services.digest.domain.compose import compose, ref_of
from services.digest.domain.model import Draft, Item, Post, Story
from services.digest.domain.persona import Feedback, build_profile
from services.digest.domain.ranking import Ranked, rank, reserve_for_persona
from services.digest.domain.render import TELEGRAM_LIMIT, html_tags_allowed, telegram_html
from services.digest.domain.stories import cluster
from services.digest.domain.threads import build_threads, decisions, open_questions
from services.digest.domain.topics import ORDER
from services.digest.domain.verify import verify
from tests.unit.digest.fakes import T0, post

pytestmark = pytest.mark.unit

KOREA = "Президент Южной Кореи объявил о введении военного положения в стране"
KOREA2 = "В Южной Корее введено военное положение, заявил президент страны"
METEOR = "Астероид упал в Якутии, очевидцы сняли яркую вспышку в небе"
METEOR2 = "В Якутии упал небольшой астероид, яркую вспышку видели очевидцы"
RATES = "Курс доллара на бирже поднялся выше 108 рублей впервые с марта"


def _posts() -> list[Post]:
    return [
        post("a", 1, KOREA, minutes=0),
        post("b", 2, KOREA2, minutes=5),
        post("c", 3, KOREA, minutes=6, duplicate_of="t1:a:1"),
        post("a", 4, METEOR, minutes=30),
        post("d", 5, METEOR2, minutes=40),
        post("b", 6, RATES, minutes=50),
    ]


def test_stories_cluster_across_channels_and_collapse_reposts() -> None:
    stories = cluster(_posts())
    by_first = {s.posts[0].post_id: s for s in stories}
    assert len(stories) == 3
    korea = by_first["t1:a:1"]
    assert [p.post_id for p in korea.posts] == ["t1:a:1", "t1:b:2"]
    assert korea.reposts == ["t1:c:3"]
    assert korea.size == 3
    assert {p.post_id for p in by_first["t1:a:4"].posts} == {"t1:a:4", "t1:d:5"}
    assert [p.post_id for p in by_first["t1:b:6"].posts] == ["t1:b:6"]


def test_ranking_prefers_cross_channel_agreement_and_is_deterministic() -> None:
    stories = cluster(_posts())
    until = T0 + timedelta(days=1)
    first = rank(stories, until=until, period=timedelta(days=1))
    again = rank(cluster(_posts()), until=until, period=timedelta(days=1))
    assert [r.story.story_id for r in first] == [r.story.story_id for r in again]
    assert first[-1].story.posts[0].post_id == "t1:b:6"
    assert first[0].signals["agreement"] > first[-1].signals["agreement"]


def test_compose_cites_every_source_and_groups_by_topic() -> None:
    posts = _posts()
    ranked = rank(cluster(posts), until=T0 + timedelta(days=1), period=timedelta(days=1))
    refs = [ref_of(r) for r in ranked]
    by_id = {p.post_id: p for p in posts}
    draft = compose(refs, by_id, max_items=5, language="ru", strategy="balanced")
    korea = next(i for i in draft.items if "t1:a:1" in i.citations)
    assert set(korea.citations) == {"t1:a:1", "t1:b:2", "t1:c:3"}
    assert korea.topic == "politics"
    topics = [i.topic for i in draft.items]
    assert topics == sorted(topics, key=ORDER.index)
    assert topics[0] == "politics"


def _item(n: int, cites: tuple[str, ...], title: str = "") -> Item:
    titles = ["Пожар на складе в Казани потушили", "Курс рубля укрепился на торгах биржи"]
    return Item(f"s{n}", title or titles[n % 2], "", "other", cites, 1.0 / (n + 1))


def test_telegram_html_fits_one_message_with_allowed_tags_and_escapes() -> None:
    posts = {f"t1:a:{n}": post("a", n, f"<b>текст</b> & {n}") for n in range(200)}
    items = tuple(
        Item(
            f"s{n}",
            f"<script>x</script> Новость {n} " + "очень " * 40,
            "А & Б " * 30,
            "other",
            (f"t1:a:{n}",),
            1.0,
        )
        for n in range(60)
    )
    text = telegram_html(Draft("x", items), posts, title="Дайджест <1>", language="ru")
    assert len(text) <= TELEGRAM_LIMIT
    assert html_tags_allowed(text)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "… ещё" in text


def test_verify_caps_unresolved_citations_and_finds_duplicates() -> None:
    good = Draft("x", (_item(1, ("p1",)), _item(2, ("p2",))))
    args = dict(
        cluster_members={"s1": ["p1"], "s2": ["p2"]},
        top=["s1", "s2"],
        language="ru",
        max_items=8,
        telegram_html="<b>ok</b>",
    )
    assert verify(good, window_posts={"p1", "p2"}, **args).score == 1.0  # type: ignore[arg-type]
    invented = verify(good, window_posts={"p1"}, **args)  # type: ignore[arg-type]
    assert invented.score <= 0.5
    assert invented.unresolved == ("p2",)
    same = Draft(
        "x",
        (_item(1, ("p1",), "Взрыв на заводе в Туле"), _item(2, ("p2",), "Взрыв на заводе в Туле")),
    )
    dup = verify(same, window_posts={"p1", "p2"}, **args)  # type: ignore[arg-type]
    assert dup.duplicate_pairs == (("s1", "s2"),)
    assert dup.signals["duplicates"] == 0.5
    english = verify(good, window_posts={"p1", "p2"}, **{**args, "language": "en"})  # type: ignore[arg-type]
    assert english.signals["language"] == 0.0
    assert english.score < 0.9


def test_threads_from_replies_and_time_decisions_and_open_questions() -> None:
    msgs = [
        post("g", 1, "Когда выкатываем релиз сервиса?", minutes=0, author_name="ann"),
        post(
            "g",
            2,
            "Решили выкатывать релиз в пятницу.",
            minutes=2,
            author_name="bob",
            reply_to_message_id=1,
        ),
        post("g", 3, "Кто купит пиццу на праздник?", minutes=120, author_name="cat"),
        post("g", 4, "Релиз сервиса в пятницу подтверждаю", minutes=5, author_name="dan"),
    ]
    threads = build_threads(msgs)
    assert [[p.message_id for p in t.posts] for t in threads] == [[1, 2, 4], [3]]
    assert decisions(threads[0]) == ["Решили выкатывать релиз в пятницу."]
    assert open_questions(threads[0]) == []
    assert open_questions(threads[1]) == ["Кто купит пиццу на праздник?"]
    assert threads[0].participants == ["ann", "bob", "dan"]


def test_persona_profile_summary_and_affinity() -> None:
    persona = build_profile(
        "u1",
        ["Что с курсом доллара?", "курс рубля и доллара сегодня", "новости биржи"] * 50,
        [["b", "c"], ["b"]],
        [Feedback(-1, ["астероид"]), Feedback(1, ["доллар"])],
    )
    assert persona.channels[0] == "b"
    assert estimate_tokens(persona.summary()) <= 200
    stories = cluster(_posts())
    rates = next(s for s in stories if s.posts[0].post_id == "t1:b:6")
    meteor = next(s for s in stories if s.posts[0].post_id == "t1:a:4")
    assert persona.affinity(rates.terms, rates.channels) > persona.affinity(
        meteor.terms, meteor.channels
    )
    big = build_profile("u2", [" ".join(f"слово{n}" for n in range(2000))], [])
    assert estimate_tokens(big.summary()) <= 200


def test_manifest_over_the_cap_is_compacted_then_refused() -> None:
    m = mf.new_manifest("r", "h", ["collect"], "smart")
    ids = [f"tenant:-100{n:010d}:{n}" for n in range(20_000)]
    m["steps"]["collect"] = {"status": "done", "out": {"post_ids": ids, "n": len(ids)}}
    data = mf.fit(m)
    assert len(data) <= mf.MAX_BYTES
    assert m["compacted"] == ["steps.collect.out.post_ids"]
    assert m["steps"]["collect"]["resumable"] is False
    assert m["steps"]["collect"]["out"]["post_ids"]["sha256"] == mf.digest_of(ids)
    huge = mf.new_manifest("r", "h", ["x"], "smart")
    huge["replans"] = [{"reason": "x" * 200_000}]
    with pytest.raises(mf.ManifestTooLarge):
        mf.fit(huge)


def test_persona_reserves_at_most_two_places_for_its_own_subjects() -> None:
    stories = [Story(story_id=f"s{n}", posts=[post("a", n + 1, f"текст {n}")]) for n in range(10)]
    affinity = {"s7": 0.9, "s8": 0.6, "s9": 0.7, "s1": 0.8}
    ranked = [
        Ranked(s, 1.0 - n / 10, {"persona": affinity.get(s.story_id, 0.0)})
        for n, s in enumerate(stories)
    ]
    out = reserve_for_persona(ranked, 5)
    assert [r.story.story_id for r in out[:5]] == ["s0", "s1", "s2", "s7", "s9"]
    assert sorted(r.story.story_id for r in out) == sorted(s.story_id for s in stories)
    plain = [Ranked(r.story, r.score, {"persona": 0.1}) for r in ranked]
    assert reserve_for_persona(plain, 5) == plain
