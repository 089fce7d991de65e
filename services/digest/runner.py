"""One digest run: plan, execute, check, replan once; every step recorded in the manifest.

Steps of a smart channel digest: ``collect`` (the window's posts; replanned once, widened to
twice the period, when fewer than ``min_posts``), ``rank`` (stories clustered and ranked;
output: references), ``compose`` (extractive, then LLM synthesis when a model is set),
``verify`` (signals + optional judge), ``correct`` once below 0.6, ``retry`` once more with
the ``coverage`` strategy when still low, then the best of at most two candidates is
``deliver``-ed. Fast mode plans three steps (collect, compose, deliver) and never corrects.
A group digest threads the window's messages instead of clustering stories.

After each step the manifest (references only, capped) is stored; a run found ``running``
resumes: a step recorded ``done`` (and resumable) is not run again, its references are read
back instead. A finished run is never run again: its stored result is returned.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from contracts.v1.common import Usage
from contracts.v1.digest import DigestCompleted, GenerateDigest
from servicekit.llm import Budget, LLMClient, LLMError
from servicekit.logging import get_logger
from services.digest.domain import compose as cmp
from services.digest.domain import manifest as mf
from services.digest.domain.correct import correct
from services.digest.domain.model import Draft, Post
from services.digest.domain.persona import ITEMS_FOR, Persona
from services.digest.domain.ranking import rank, reserve_for_persona
from services.digest.domain.render import markdown, telegram_html
from services.digest.domain.stories import ClusterParams, cluster
from services.digest.domain.text import script_language
from services.digest.domain.threads import group_draft
from services.digest.domain.verify import THRESHOLD, Verdict, top_clusters, verify, with_judge
from services.digest.errors import VerifierFailed
from services.digest.llm import MAX_CALLS, MAX_TOKENS, judge, synthesize
from services.digest.ports import DraftVerifier, PostSource, RunStore
from services.digest.records import (
    Candidate,
    CountingLLM,
    budget_json,
    candidate_key,
    carry_over,
    digest_item,
    draft_refs,
    verdict_json,
)

_log = get_logger(__name__)
T = TypeVar("T")
StepHook = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class RunParams:
    """Limits of one run."""

    max_posts: int = 20_000
    min_posts: int = 20
    shortlist: int = 20
    max_items: int = 8
    llm_timeout_s: float = 20.0
    max_llm_calls: int = MAX_CALLS
    max_tokens: int = MAX_TOKENS
    cluster: ClusterParams = field(default_factory=ClusterParams)


@dataclass
class Outcome:
    """What a run produced: the event payload, whether it is new (not a stored replay),
    the final verdict, and the manifest."""

    result: DigestCompleted
    fresh: bool
    manifest: dict[str, Any]
    budget: Budget | None = None
    issues: tuple[str, ...] = ()


class DigestRunner:
    """Runs digests over the ports; see the module docstring."""

    def __init__(
        self,
        posts: PostSource,
        store: RunStore,
        *,
        llm: LLMClient | None = None,
        params: RunParams | None = None,
        verifier: DraftVerifier | None = None,
        after_step: StepHook | None = None,
    ) -> None:
        self._posts = posts
        self._store = store
        self._llm = llm
        self._params = params or RunParams()
        self._verifier = verifier
        self._after_step = after_step

    async def run(self, tenant_id: str, cmd: GenerateDigest, *, now: datetime) -> Outcome:
        """Write (or resume, or replay) the digest of ``cmd``. Raises what the stores raise
        (retryable); everything else ends as a ``failed`` result."""
        stored = await self._store.load(tenant_id, cmd.run_id)
        if stored is not None and stored.result is not None:
            return Outcome(DigestCompleted.model_validate(stored.result), False, stored.manifest)
        request = cmd.model_dump(mode="json")
        request_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        if stored is not None and stored.manifest.get("request_sha256") == request_hash:
            manifest = stored.manifest
            manifest["resumed"] = int(manifest.get("resumed", 0)) + 1
        else:
            plan = _plan(cmd)
            manifest = mf.new_manifest(cmd.run_id, request_hash, plan, cmd.mode)
        budget = Budget(
            max_llm_calls=self._params.max_llm_calls,
            max_tokens=self._params.max_tokens,
            max_agent_steps=len(manifest["plan"]) + 4,
            path_type="smart_path",
        )
        carry_over(budget, manifest["budget"])
        run = _Run(self, tenant_id, cmd, request, manifest, budget, now)
        try:
            result = await run.execute()
        except mf.ManifestTooLarge as exc:
            result = run.failed(f"manifest_too_large: {exc}")
            manifest = {k: manifest[k] for k in ("version", "run_id", "plan", "order")}
            manifest["error"] = "manifest_too_large"
        manifest["budget"] = budget_json(budget)
        data = mf.fit(manifest)
        await self._store.finish(
            tenant_id, cmd.run_id, result.status, data, result.model_dump(mode="json")
        )
        return Outcome(result, True, manifest, budget, run.issues)


def _plan(cmd: GenerateDigest) -> list[str]:
    if cmd.mode == "fast":
        return ["collect", "compose", "deliver"]
    return ["plan", "collect", "rank", "compose", "verify", "deliver"]


class _Run:
    """The state of one execution of a run."""

    def __init__(
        self,
        runner: DigestRunner,
        tenant_id: str,
        cmd: GenerateDigest,
        request: dict[str, Any],
        manifest: dict[str, Any],
        budget: Budget,
        now: datetime,
    ) -> None:
        self.r = runner
        self.p = runner._params
        self.tenant_id = tenant_id
        self.cmd = cmd
        self.request = request
        self.manifest = manifest
        self.budget = budget
        self.until = cmd.until or now
        self.period = (
            timedelta(days=cmd.period_days or 1)
            if cmd.kind == "channel"
            else timedelta(hours=cmd.window_hours or 24)
        )
        self.since = self.until - self.period
        self.issues: tuple[str, ...] = ()
        self.posts: dict[str, Post] = {}
        self.persona: Persona | None = None
        self.language = cmd.language or "ru"
        self.llm: LLMClient | None = (
            CountingLLM(runner._llm, manifest) if runner._llm is not None else None
        )

    # -- bookkeeping --------------------------------------------------------------------

    def done(self, name: str) -> dict[str, Any] | None:
        step = self.manifest["steps"].get(name)
        if step and step.get("status") == "done" and step.get("resumable", True):
            return dict(step.get("out", {}))
        return None

    async def record(
        self, name: str, status: str, started: float, out: Mapping[str, Any], **extra: Any
    ) -> None:
        steps = self.manifest["steps"]
        prev = steps.get(name, {})
        steps[name] = {
            "status": status,
            "attempts": int(prev.get("attempts", 0)) + 1,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "out": dict(out),
            **extra,
        }
        self.manifest["order"].append(name)
        self.manifest["budget"] = budget_json(self.budget)
        data = mf.fit(self.manifest)
        await self.r._store.save_manifest(
            self.tenant_id, self.cmd.run_id, self.cmd.user_id, self.request, data
        )
        if self.r._after_step is not None:
            await self.r._after_step(name)

    def failed(self, reason: str) -> DigestCompleted:
        self.issues = (reason,)
        return DigestCompleted(
            run_id=self.cmd.run_id,
            user_id=self.cmd.user_id,
            status="failed",
            usage=self.usage(),
            manifest_id=self.cmd.run_id,
        )

    def usage(self) -> Usage:
        used = self.manifest.get("usage", {})
        return Usage(
            llm_calls=self.budget.llm_calls,
            tokens_in=int(used.get("tokens_in", 0)),
            tokens_out=int(used.get("tokens_out", 0)),
            agent_steps=self.budget.agent_steps,
        )

    # -- the steps ----------------------------------------------------------------------

    async def execute(self) -> DigestCompleted:
        if self.cmd.persona_id:
            self.persona = await self.r._store.persona(self.tenant_id, self.cmd.persona_id)
        if "plan" in self.manifest["plan"] and self.done("plan") is None:
            started = time.perf_counter()
            self.budget.step()
            await self.record("plan", "done", started, {"steps": self.manifest["plan"]})
        refs, top = await self.collect_and_rank()
        if refs is None:
            return self.failed("no posts in the window")
        await self.load_refs(refs, top)
        if not self.cmd.language:
            self.language = script_language(p.text for p in self.posts.values())
        candidates = await self.candidates(refs, top)
        return await self.deliver(candidates)

    async def collect_and_rank(
        self,
    ) -> tuple[list[cmp.StoryRef] | None, list[dict[str, Any]]]:
        ranked_out = self.done("rank" if self.cmd.mode == "smart" else "compose")
        collected = self.done("collect")
        if ranked_out is not None and collected is not None:
            self.since = datetime.fromisoformat(collected["since"])
            refs = [cmp.StoryRef.from_json(r) for r in ranked_out["shortlist"]]
            return refs, list(ranked_out["top"])
        started = time.perf_counter()
        self.budget.step()
        window = await self.window()
        if len(window) < self.p.min_posts and self.cmd.mode == "smart":
            self.manifest["replans"].append(
                {"reason": f"only {len(window)} posts", "action": "widen window x2"}
            )
            self.since = self.until - 2 * self.period
            window = await self.window()
        ids = [p.post_id for p in window]
        await self.record(
            "collect",
            "done",
            started,
            {
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "n": len(ids),
                "sha256": mf.digest_of(ids),
                "post_ids": ids,
            },
        )
        if not window:
            return None, []
        started = time.perf_counter()
        if self.cmd.kind == "group":
            return [], [{"posts": ids}]
        stories = cluster(window, self.p.cluster)
        ranked = rank(
            stories,
            until=self.until,
            period=self.period,
            strategy="balanced",
            persona=self.persona,
        )
        if self.persona is not None:
            ranked = reserve_for_persona(ranked, self.max_items())
        coverage = rank(stories, until=self.until, period=self.period, strategy="coverage")
        shortlist: dict[str, cmp.StoryRef] = {}
        for r in [*ranked[: self.p.shortlist], *coverage[: self.p.max_items]]:
            shortlist.setdefault(r.story.story_id, cmp.ref_of(r))
        by_id = {s.story_id: s for s in stories}
        top = [
            {"id": sid, "members": [p.post_id for p in by_id[sid].posts][:50]}
            for sid in top_clusters(stories, 5)
        ]
        refs = list(shortlist.values())
        step = "rank" if self.cmd.mode == "smart" else "compose"
        await self.record(
            step,
            "done",
            started,
            {
                "stories": len(stories),
                "shortlist": [r.to_json() for r in refs],
                "coverage_order": [r.story.story_id for r in coverage[: self.p.max_items]],
                "top": top,
            },
        )
        return refs, top

    async def window(self) -> list[Post]:
        return await self.r._posts.window(
            self.tenant_id, self.cmd.channels, self.since, self.until, limit=self.p.max_posts
        )

    async def load_refs(self, refs: Sequence[cmp.StoryRef], top: list[dict[str, Any]]) -> None:
        wanted = {c for r in refs for c in r.citations}
        if self.cmd.kind == "group":
            wanted |= {str(p) for t in top for p in t.get("posts", [])}
        found = await self.r._posts.by_ids(self.tenant_id, sorted(wanted))
        self.posts = {p.post_id: p for p in found}

    def max_items(self) -> int:
        if self.persona is not None:
            return ITEMS_FOR[self.persona.length]
        return self.p.max_items

    def title(self) -> str:
        ru = self.language == "ru"
        span = f"{self.since:%d.%m.%Y %H:%M} — {self.until:%d.%m.%Y %H:%M} UTC"
        if self.cmd.kind == "group":
            return f"Обсуждения: {span}" if ru else f"Conversations: {span}"
        return f"Дайджест: {span}" if ru else f"Digest: {span}"

    def render(self, draft: Draft) -> tuple[str, str]:
        title = self.title()
        return (
            markdown(draft, self.posts, title=title, language=self.language),
            telegram_html(draft, self.posts, title=title, language=self.language),
        )

    async def group(self, top: list[dict[str, Any]]) -> Draft:
        posts = [self.posts[p] for t in top for p in t["posts"] if p in self.posts]
        previous = await self.r._posts.window(
            self.tenant_id,
            self.cmd.channels,
            self.since - self.period,
            self.since,
            limit=self.p.max_posts,
        )
        return group_draft(posts, previous, max_items=self.max_items(), language=self.language)

    async def check(self, draft: Draft, top: list[dict[str, Any]]) -> Candidate:
        md, html = self.render(draft)
        try:
            if self.r._verifier is not None:
                verdict = await self.r._verifier(draft, md, html)
            else:
                verdict = await self.signals(draft, top, html)
                if self.llm is not None:
                    try:
                        score = await judge(
                            self.llm,
                            md,
                            budget=self.budget,
                            language=self.language,
                            timeout_s=self.p.llm_timeout_s,
                        )
                    except LLMError as exc:
                        raise VerifierFailed(f"judge: {type(exc).__name__}") from exc
                    verdict = with_judge(verdict, score)
        except Exception as exc:  # a verifier error is a failure, never a pass
            _log.warning("digest_verifier_failed", error=repr(exc)[:300])
            return Candidate(draft, md, html, None, f"verifier: {type(exc).__name__}")
        return Candidate(draft, md, html, verdict)

    async def signals(self, draft: Draft, top: list[dict[str, Any]], html: str) -> Verdict:
        cited = sorted({c for i in draft.items for c in i.citations})
        channels = set(self.cmd.channels)
        resolved = {
            p.post_id
            for p in await self.r._posts.by_ids(self.tenant_id, cited)
            if self.since <= p.date < self.until and p.channel_id in channels
        }
        members = {str(t["id"]): list(t["members"]) for t in top if "id" in t}
        return verify(
            draft,
            window_posts=resolved,
            cluster_members=members,
            top=[str(t["id"]) for t in top if "id" in t],
            language=self.language,
            max_items=self.max_items(),
            telegram_html=html,
        )

    async def candidates(
        self, refs: list[cmp.StoryRef], top: list[dict[str, Any]]
    ) -> list[Candidate]:
        started = time.perf_counter()
        if self.cmd.kind == "group":
            first = await self.group(top)
        else:
            first = cmp.compose(
                refs,
                self.posts,
                max_items=self.max_items(),
                language=self.language,
                strategy="balanced",
            )
            if self.llm is not None and self.cmd.mode == "smart" and first.items:
                try:
                    first = await synthesize(
                        self.llm,
                        first,
                        self.posts,
                        budget=self.budget,
                        language=self.language,
                        persona=self.persona.summary() if self.persona else None,
                        timeout_s=self.p.llm_timeout_s,
                    )
                except LLMError as exc:  # the extractive draft stands
                    self.manifest.setdefault("degraded", []).append(
                        f"synthesis: {type(exc).__name__}"
                    )
        if self.cmd.mode == "fast":
            return [await self.check(first, top)]
        if self.done("compose") is None:
            self.budget.step()
            await self.record("compose", "done", started, draft_refs(first))
        started = time.perf_counter()
        best = await self.check(first, top)
        out = [best]
        await self.record("verify", "done", started, verdict_json(best))
        if best.verdict is not None and best.verdict.score >= THRESHOLD:
            return out
        if best.verdict is not None and self.cmd.kind == "channel":
            started = time.perf_counter()
            by_story = {r.story_id: r for r in refs}
            corrected = correct(
                first,
                best.verdict,
                item_for_story=lambda sid: (
                    cmp.item_from_ref(by_story[sid], self.posts, self.language)
                    if sid in by_story
                    else None
                ),
                max_items=self.max_items(),
            )
            second = await self.check(corrected, top)
            await self.record("correct", "done", started, verdict_json(second))
            out = [best, second]
            if second.verdict is not None and second.verdict.score >= THRESHOLD:
                return out
        if self.cmd.kind == "channel":
            started = time.perf_counter()
            order = {sid: n for n, sid in enumerate(self.coverage_order())}
            cov_refs = sorted(
                (r for r in refs if r.story_id in order), key=lambda r: order[r.story_id]
            )
            retry = cmp.compose(
                cov_refs,
                self.posts,
                max_items=self.max_items(),
                language=self.language,
                strategy="coverage",
            )
            third = await self.check(retry, top)
            await self.record("retry", "done", started, verdict_json(third))
            out.append(third)
        ranked = sorted(out, key=candidate_key, reverse=True)
        return ranked[:2]

    def coverage_order(self) -> list[str]:
        out = self.manifest["steps"].get("rank", {}).get("out", {})
        return [str(s) for s in out.get("coverage_order", [])]

    async def deliver(self, candidates: list[Candidate]) -> DigestCompleted:
        started = time.perf_counter()
        best = max(candidates, key=candidate_key)
        verdict = best.verdict
        if verdict is None:
            await self.record("deliver", "failed", started, {"error": best.error or ""})
            return self.failed(best.error or "verification failed")
        status = "completed" if verdict.score >= THRESHOLD else "quality_low"
        self.issues = verdict.issues
        items = [digest_item(i, self.posts) for i in best.draft.items]
        result = DigestCompleted(
            run_id=self.cmd.run_id,
            user_id=self.cmd.user_id,
            status=status,
            quality_score=max(0.0, min(1.0, verdict.score)),
            markdown=best.md if "markdown" in self.cmd.formats else None,
            telegram_html=best.html if "telegram_html" in self.cmd.formats else None,
            items=items[:100],
            usage=self.usage(),
            manifest_id=self.cmd.run_id,
        )
        await self.record(
            "deliver",
            "done",
            started,
            {
                "status": status,
                "strategy": best.draft.strategy,
                "candidates": len(candidates),
                "score": verdict.score,
                "markdown_sha256": hashlib.sha256(best.md.encode()).hexdigest(),
                "html_sha256": hashlib.sha256(best.html.encode()).hexdigest(),
            },
        )
        return result
