"""The digest runner on fakes: plan-first steps, self-checks that fail closed, the LLM
bound, personas, resume and idempotency, the manifest cap."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from contracts.v1.digest import GenerateDigest
from servicekit.llm import LLMTimeout
from services.digest.domain.manifest import MAX_BYTES, encode
from services.digest.domain.model import Draft
from services.digest.domain.persona import build_profile
from services.digest.domain.stories import story_id
from services.digest.domain.verify import Verdict
from services.digest.runner import DigestRunner, RunParams
from tests.helpers.llm import ScriptedLLM
from tests.unit.digest.fakes import T0, FakePosts, FakeStore, post

pytestmark = pytest.mark.unit

UNTIL = T0 + timedelta(days=1)
STORIES = [
    ("Президент Южной Кореи объявил о введении военного положения", ["a", "b", "c", "d"]),
    ("Астероид упал в Якутии, очевидцы сняли яркую вспышку", ["a", "c", "e"]),
    ("Курс доллара на бирже поднялся выше 108 рублей", ["b", "d"]),
    ("В Москве ожидается ледяной дождь и сильный гололед ночью", ["e", "f"]),
    ("Хакеры атаковали серверы крупного интернет провайдера", ["f"]),
    ("Футбольный клуб Спартак выиграл матч чемпионата", ["a"]),
]
BIG = "-1001234567890"
CHANNELS = ["a", "b", "c", "d", "e", "f", BIG]


def _posts(extra: int = 0) -> list[Any]:
    out = []
    n = 0
    for s, (text, channels) in enumerate(STORIES):
        for k, ch in enumerate(channels):
            n += 1
            out.append(post(ch, n, f"{text}. Подробности {k}.", minutes=60 * s + 7 * k))
    for i in range(extra):
        text = f"Заметка {i} о разном {i * 13} дело{i}"
        out.append(post(BIG, 1000 + i, text, minutes=i % 1400))
    return out


def _cmd(run_id: str = "r1", **fields: Any) -> GenerateDigest:
    values: dict[str, Any] = {
        "run_id": run_id,
        "user_id": "u1",
        "kind": "channel",
        "channels": CHANNELS,
        "period_days": 1,
        "until": UNTIL,
        "formats": ["markdown", "telegram_html"],
        **fields,
    }
    return GenerateDigest(**values)


def _runner(posts: FakePosts, store: FakeStore, **kwargs: Any) -> DigestRunner:
    return DigestRunner(posts, store, params=RunParams(min_posts=5), **kwargs)


async def test_offline_channel_digest_runs_every_planned_step_and_passes() -> None:
    posts, store = FakePosts(_posts()), FakeStore()
    out = await _runner(posts, store).run("t1", _cmd(), now=UNTIL)
    r = out.result
    assert r.status == "completed"
    assert r.quality_score == 1.0
    assert len(r.items) == 6
    assert r.items[0].topic == "politics"
    assert {c.post_id for c in r.items[0].citations} == {"t1:a:1", "t1:b:2", "t1:c:3", "t1:d:4"}
    assert r.markdown is not None
    assert "https://t.me/c/a/1" in r.markdown
    assert r.telegram_html is not None
    assert len(r.telegram_html) <= 4096
    m = out.manifest
    assert m["order"] == ["plan", "collect", "rank", "compose", "verify", "deliver"]
    assert all(step["status"] == "done" for step in m["steps"].values())
    assert "Якутии" not in json.dumps(m, ensure_ascii=False)
    assert r.usage.llm_calls == 0


async def test_fast_mode_plans_three_steps() -> None:
    out = await _runner(FakePosts(_posts()), FakeStore()).run("t1", _cmd(mode="fast"), now=UNTIL)
    assert out.manifest["plan"] == ["collect", "compose", "deliver"]
    assert out.manifest["order"] == ["collect", "compose", "deliver"]
    assert out.result.status == "completed"


async def test_same_run_twice_gives_the_stored_digest_without_running_again() -> None:
    posts, store = FakePosts(_posts()), FakeStore()
    runner = _runner(posts, store)
    first = await runner.run("t1", _cmd(), now=UNTIL)
    posts.posts.append(post("a", 999, "Новая громкая новость о запуске ракеты", minutes=100))
    second = await runner.run("t1", _cmd(), now=UNTIL + timedelta(hours=3))
    assert not second.fresh
    assert second.result == first.result
    assert posts.window_calls == 1


async def test_too_few_posts_replans_once_by_widening_the_window() -> None:
    early = [
        post("a", n, f"Старая новость номер {n} о погоде", minutes=-600 - n) for n in range(1, 9)
    ]
    posts = FakePosts([*early, post("b", 50, "Одна свежая новость о дожде", minutes=30)])
    out = await _runner(posts, FakeStore()).run("t1", _cmd(), now=UNTIL)
    assert out.manifest["replans"] == [{"reason": "only 1 posts", "action": "widen window x2"}]
    assert out.manifest["steps"]["collect"]["out"]["n"] == 9
    assert posts.window_calls == 2


async def test_a_verifier_that_raises_never_passes() -> None:
    async def broken(draft: Draft, markdown: str, html: str) -> Verdict:
        raise RuntimeError("verifier crashed")

    out = await _runner(FakePosts(_posts()), FakeStore(), verifier=broken).run(
        "t1", _cmd(), now=UNTIL
    )
    assert out.result.status == "failed"
    assert out.result.items == []
    assert out.result.markdown is None
    assert out.manifest["steps"]["verify"]["out"]["error"] == "verifier: RuntimeError"
    assert out.manifest["steps"]["deliver"]["status"] == "failed"


async def test_scripted_llm_with_bad_json_takes_the_failure_path() -> None:
    llm = ScriptedLLM("not json at all", '{"score": 0.9', "```json\n{}\n```", "[1]")
    out = await _runner(FakePosts(_posts()), FakeStore(), llm=llm).run("t1", _cmd(), now=UNTIL)
    # synthesis unusable -> extractive draft stands; every judge answer unusable -> every
    # candidate failed -> the run fails, it does not pass and does not crash
    assert out.result.status == "failed"
    assert out.manifest["degraded"] == ["synthesis: LLMBadOutput"]
    assert out.manifest["steps"]["verify"]["out"]["error"] == "verifier: VerifierFailed"
    assert out.manifest["steps"]["retry"]["out"]["error"] == "verifier: VerifierFailed"
    assert llm.call_count == 3
    assert out.result.usage.llm_calls == 3


async def test_llm_synthesis_and_judge_stay_within_the_bound() -> None:
    posts = _posts()
    runner_probe = await _runner(FakePosts(posts), FakeStore()).run("t1", _cmd("probe"), now=UNTIL)
    ids = [i.citations[0].post_id for i in runner_probe.result.items]
    stories = runner_probe.manifest["steps"]["compose"]["out"]["items"]
    answer = {
        "items": [
            {"story_id": s["id"], "title": f"Сюжет {n}", "summary": "Кратко о сюжете."}
            for n, s in enumerate(stories)
        ]
    }
    assert len(ids) == len(stories)
    llm = ScriptedLLM(json.dumps(answer, ensure_ascii=False), '{"score": 0.95, "issues": []}')
    out = await _runner(FakePosts(posts), FakeStore(), llm=llm).run("t1", _cmd(), now=UNTIL)
    assert out.result.status == "completed"
    assert out.result.items[0].title.startswith("Сюжет")
    assert llm.call_count == 2
    assert llm.calls[1].max_tokens == 300
    assert out.budget is not None
    assert out.budget.llm_calls <= 4
    assert out.budget.tokens <= 8000
    assert out.result.usage.tokens_in > 0
    assert out.result.usage.tokens_out > 0


async def test_llm_calls_are_refused_past_the_budget() -> None:
    llm = ScriptedLLM(LLMTimeout("slow"), default='{"score": 0.9, "issues": []}')
    out = await DigestRunner(
        FakePosts(_posts()), FakeStore(), llm=llm, params=RunParams(min_posts=5, max_llm_calls=1)
    ).run("t1", _cmd(), now=UNTIL)
    # the timed-out synthesis spent the one call; the judge is refused before sending,
    # which fails verification (never a pass)
    assert llm.call_count == 1
    assert llm.refused == 2
    assert out.budget is not None
    assert out.budget.exceeded == {"llm_calls"}
    assert out.result.status == "failed"
    assert out.manifest["degraded"] == ["synthesis: LLMTimeout"]


async def test_low_quality_corrects_once_retries_once_and_ends_quality_low() -> None:
    out = await _runner(FakePosts(_posts()), FakeStore()).run("t1", _cmd(language="en"), now=UNTIL)
    m = out.manifest
    assert out.result.status == "quality_low"
    assert out.result.quality_score is not None
    assert out.result.quality_score < 0.6
    assert m["order"] == [
        "plan",
        "collect",
        "rank",
        "compose",
        "verify",
        "correct",
        "retry",
        "deliver",
    ]
    assert m["steps"]["deliver"]["out"]["candidates"] == 2
    assert any("not in en" in i for i in out.issues)


async def test_persona_ranks_its_interests_first_and_sets_the_length() -> None:
    store = FakeStore()
    persona = build_profile("p1", ["курс доллара", "доллар и рубль на бирже"], [["b"]])
    store.personas[("t1", "p1")] = persona
    plain = await _runner(FakePosts(_posts()), FakeStore()).run("t1", _cmd("a"), now=UNTIL)
    mine = await _runner(FakePosts(_posts()), store).run(
        "t1", _cmd("b", persona_id="p1"), now=UNTIL
    )

    def order(out: Any) -> list[str]:
        return [s["id"] for s in out.manifest["steps"]["rank"]["out"]["shortlist"]]

    dollar = story_id("t1:b:8")
    assert order(mine)[0] == dollar
    assert order(plain)[0] != dollar
    assert len(mine.result.items) <= 8
    assert mine.result.status == "completed"


async def test_a_run_killed_after_a_step_resumes_from_it() -> None:
    posts, store = FakePosts(_posts()), FakeStore()

    async def crash(step: str) -> None:
        if step == "rank":
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        await _runner(posts, store, after_step=crash).run("t1", _cmd(), now=UNTIL)
    assert store.runs[("t1", "r1")]["status"] == "running"
    out = await _runner(posts, store).run("t1", _cmd(), now=UNTIL)
    reference = await _runner(FakePosts(_posts()), FakeStore()).run("t1", _cmd("ref"), now=UNTIL)
    assert posts.window_calls == 1
    assert out.manifest["resumed"] == 1
    assert out.manifest["steps"]["rank"]["attempts"] == 1
    assert out.result.markdown == reference.result.markdown
    assert out.result.items == reference.result.items


async def test_manifest_stays_under_the_cap_with_a_huge_window() -> None:
    posts, store = FakePosts(_posts(extra=6000)), FakeStore()
    out = await _runner(posts, store).run("t1", _cmd(), now=UNTIL)
    data = encode(out.manifest)
    assert len(data) <= MAX_BYTES
    assert "steps.collect.out.post_ids" in out.manifest["compacted"]
    assert out.manifest["steps"]["collect"]["out"]["n"] == 6000 + 13
    assert len(store.runs[("t1", "r1")]["manifest"]) <= MAX_BYTES
    assert out.result.status == "completed"


async def test_group_digest_threads_the_window() -> None:
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
        post("g", 4, "Вчера обсуждали релиз сервиса", minutes=-300, author_name="ann"),
    ]
    cmd = _cmd(
        kind="group",
        channels=["g"],
        period_days=None,
        window_hours=4,
        until=T0 + timedelta(hours=3),
    )
    out = await DigestRunner(FakePosts(msgs), FakeStore(), params=RunParams(min_posts=0)).run(
        "t1", cmd, now=UNTIL
    )
    r = out.result
    assert r.status == "completed"
    assert [len(i.citations) for i in r.items] == [2, 1]
    assert "Решения: Решили выкатывать релиз в пятницу." in r.items[0].summary
    assert r.markdown is not None
    assert "было 1" in r.markdown


async def test_llm_spend_before_a_crash_counts_against_the_resumed_run() -> None:
    posts, store = FakePosts(_posts()), FakeStore()
    probe = await _runner(FakePosts(_posts()), FakeStore()).run("t1", _cmd("probe"), now=UNTIL)
    ids = [s["id"] for s in probe.manifest["steps"]["compose"]["out"]["items"]]
    answer = json.dumps(
        {"items": [{"story_id": i, "title": "Сюжет", "summary": "Кратко."} for i in ids]},
        ensure_ascii=False,
    )

    async def crash(step: str) -> None:
        if step == "compose":
            raise SystemExit("killed")

    first = ScriptedLLM(answer)
    with pytest.raises(SystemExit):
        await _runner(posts, store, llm=first, after_step=crash).run("t1", _cmd(), now=UNTIL)
    assert first.call_count == 1
    # the synthesis (content, not kept in the manifest) runs again; the judge then gets
    # the last call the bound allows
    second = ScriptedLLM(answer, '{"score": 0.9, "issues": []}')
    out = await DigestRunner(
        posts, store, llm=second, params=RunParams(min_posts=5, max_llm_calls=3)
    ).run("t1", _cmd(), now=UNTIL)
    assert second.call_count == 2
    assert out.budget is not None
    assert out.budget.llm_calls == 3
    assert out.manifest["budget"]["llm_calls"] == 3
    assert out.result.status == "completed"
