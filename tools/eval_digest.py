"""Digest quality on the shipped 2024-11-26..12-04 window, offline provider.

``python -m tools.eval_digest`` (or ``make eval-digest``): the posts are written to
``retrieval.posts`` of a scratch database as the retrieval service writes them
(``tools.bench_digest.load_window``), then one smart 1-day digest over all shipped channels
is written for each day ending 2024-11-27..12-04 (8 digests) by the service's own runner.
Each digest is judged against the database, not against the service's own verdict:

- **citation validity**: cited posts that exist, are of a requested channel and are dated
  inside the digest's window, over all citations;
- **duplicate-story rate**: items that repeat the story of an earlier item of the same
  digest, over all items. Two items are one story when a post of one and a post of the other
  are near-copies by the retrieval service's own SimHash grouping (``duplicate_of``), or
  their titles share at least half of their stems (Jaccard);
- **coverage of the largest clusters**: of each day's 5 largest repost groups (most distinct
  channels carrying near-copies of one text, as grouped by the retrieval service), the share
  some item cites; and of the service's own 5 largest story clusters (``top`` in the manifest);
- **compression ratio**: characters of the window's posts over characters of the digest's
  Markdown, and posts per item.

Then the group digests' threads are scored against human-annotated conversations of real
group chat (``tools.eval_group_threads``, no database; ``python -m tools.eval_group_threads``
runs that part alone and updates only its key of the report).

Prints tables and writes ``reports/eval-digest.json`` (group threads under ``group_threads``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.digest.domain.text import stems
from tools import eval_group_threads
from tools.bench_digest import load_window, open_runner, request, shipped_channels
from tools.report import write_report
from tools.scratch import scratch_database

DAYS = [datetime(2024, 11, 27, tzinfo=UTC) + timedelta(days=d) for d in range(8)]
TOP = 5


def _jaccard(a: str, b: str) -> float:
    x, y = set(stems(a)), set(stems(b))
    return len(x & y) / len(x | y) if x | y else 0.0


async def _window(conn: asyncpg.Connection, tenant: str, since: datetime, until: datetime) -> Any:
    return await conn.fetch(
        "SELECT post_id, channel_id, date, duplicate_of, length(clean_text) AS chars"
        " FROM retrieval.posts WHERE tenant_id = $1 AND date >= $2 AND date < $3",
        tenant,
        since,
        until,
    )


def judge_digest(
    result: dict[str, Any], rows: list[Any], channels: set[str], own_top: list[dict[str, Any]]
) -> dict[str, Any]:
    """The figures of one digest (see the module docstring)."""
    by_id = {r["post_id"]: r for r in rows}
    root = {r["post_id"]: r["duplicate_of"] or r["post_id"] for r in rows}
    items = result["items"]
    total = valid = 0
    for item in items:
        for c in item["citations"]:
            total += 1
            row = by_id.get(c["post_id"])
            valid += row is not None and row["channel_id"] in channels
    duplicates = 0
    roots = [{root.get(c["post_id"], c["post_id"]) for c in i["citations"]} for i in items]
    for b in range(len(items)):
        if any(
            roots[a] & roots[b] or _jaccard(items[a]["title"], items[b]["title"]) >= 0.5
            for a in range(b)
        ):
            duplicates += 1
    groups: dict[str, set[str]] = defaultdict(set)
    members: dict[str, set[str]] = defaultdict(set)
    for pid, r in root.items():
        groups[r].add(by_id[pid]["channel_id"])
        members[r].add(pid)
    biggest = sorted(groups, key=lambda g: (-len(groups[g]), g))[:TOP]
    cited = {c["post_id"] for i in items for c in i["citations"]}
    repost_cov = sum(bool(members[g] & cited) for g in biggest) / len(biggest) if biggest else 1.0
    own = [set(t["members"]) for t in own_top]
    own_cov = sum(bool(m & cited) for m in own) / len(own) if own else 1.0
    chars = sum(r["chars"] for r in rows)
    return {
        "status": result["status"],
        "score": result["quality_score"],
        "items": len(items),
        "citations": total,
        "valid_citations": valid,
        "duplicate_items": duplicates,
        "repost_group_coverage": round(repost_cov, 3),
        "story_cluster_coverage": round(own_cov, 3),
        "posts": len(rows),
        "compression": round(chars / max(1, len(result["markdown"] or "")), 2),
    }


async def run(admin_dsn: str) -> dict[str, Any]:
    """Load, write the 8 digests, judge them; the figures."""
    async with scratch_database(admin_dsn, "digesteval") as dsn:
        tenant = "eval"
        await load_window(dsn, tenant, DAYS[0] - timedelta(days=1), DAYS[-1] + timedelta(days=1))
        runner, db = await open_runner(dsn)
        channels = shipped_channels()
        per_day = []
        conn = await asyncpg.connect(dsn)
        try:
            for day in DAYS:
                until = day + timedelta(days=1)
                outcome = await runner.run(tenant, request(channels, until, 1), now=until)
                rows = list(await _window(conn, tenant, day, until))
                top = outcome.manifest["steps"]["rank"]["out"]["top"]
                figures = judge_digest(
                    outcome.result.model_dump(mode="json"), rows, set(channels), top
                )
                per_day.append({"day": day.date().isoformat(), **figures})
        finally:
            await conn.close()
            await db.close()
    citations = sum(d["citations"] for d in per_day)
    items = sum(d["items"] for d in per_day)
    return {
        "digests": len(per_day),
        "citation_validity": round(sum(d["valid_citations"] for d in per_day) / citations, 4),
        "duplicate_story_rate": round(sum(d["duplicate_items"] for d in per_day) / items, 4),
        "repost_group_coverage_top5": round(
            statistics.fmean(d["repost_group_coverage"] for d in per_day), 3
        ),
        "story_cluster_coverage_top5": round(
            statistics.fmean(d["story_cluster_coverage"] for d in per_day), 3
        ),
        "compression_ratio_chars": round(statistics.fmean(d["compression"] for d in per_day), 2),
        "posts_per_item": round(sum(d["posts"] for d in per_day) / items, 1),
        "statuses": {
            s: sum(d["status"] == s for d in per_day) for s in {d["status"] for d in per_day}
        },
        "per_day": per_day,
    }


def main() -> None:
    dsn = os.environ.get("TGI_POSTGRES_DSN")
    if not dsn:
        raise SystemExit('TGI_POSTGRES_DSN is not set: eval "$(deploy/local/infra.sh env)"')
    figures = asyncio.run(run(dsn))
    print("\ndigest quality (offline provider, 8 one-day digests, all shipped channels)")
    for key in (
        "citation_validity",
        "duplicate_story_rate",
        "repost_group_coverage_top5",
        "story_cluster_coverage_top5",
        "compression_ratio_chars",
        "posts_per_item",
        "statuses",
    ):
        print(f"  {key:<32}{figures[key]}")
    print(
        f"\n  {'day':<12}{'status':<12}{'score':>6}{'items':>6}{'dups':>6}{'repost':>8}"
        f"{'own':>6}{'posts':>7}{'compr':>7}"
    )
    for d in figures["per_day"]:
        print(
            f"  {d['day']:<12}{d['status']:<12}{d['score']:>6}{d['items']:>6}"
            f"{d['duplicate_items']:>6}{d['repost_group_coverage']:>8}"
            f"{d['story_cluster_coverage']:>6}{d['posts']:>7}{d['compression']:>7}"
        )
    groups = eval_group_threads.run()
    eval_group_threads.print_figures(groups)
    figures[eval_group_threads.KEY] = eval_group_threads.dated(groups)
    path = write_report("eval-digest", figures)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
