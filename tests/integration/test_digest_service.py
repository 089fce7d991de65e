"""The digest service on real Kafka and Postgres, over the shipped posts of 2024-12-03
written to ``retrieval.posts`` as the retrieval service's indexer writes them.

- a 1-day channel digest over every shipped channel: every citation resolves to a post of
  the window, no post is cited by two items, no two items are the same story by the
  retrieval service's own near-duplicate groups, the largest cross-channel repost groups
  are covered; the manifest is served over HTTP, holds references only and fits 100 KB;
- the same request again (a new envelope, the same run id) gives the same digest;
- a service SIGKILLed after its ``rank`` step resumes on restart: the steps done before the
  kill are not run again, and the digest equals an uninterrupted run's.

``python -m tests.integration.test_digest_service DSN BOOTSTRAP PREFIX MARKER`` runs the
service as a child process that hangs after ``rank`` (the crash test kills it there).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.envelope import make_envelope
from contracts.v1.digest import GenerateDigest
from servicekit.postgres import PostgresResource
from servicekit.settings import load_settings
from services.digest import personas
from services.digest.adapters.postgres_posts import PostgresPostSource
from services.digest.adapters.postgres_store import PostgresRunStore
from services.digest.app import MIGRATIONS, DigestDeps, build_app
from services.digest.runner import DigestRunner
from services.digest.settings import DigestSettings
from tests.conftest import ROOT
from tests.helpers.auth import INTERNAL_HEADERS
from tests.helpers.kafka import eventually, produce, read_topic
from tests.helpers.kit import running, wire
from tools.bench_digest import load_window

pytestmark = pytest.mark.integration
TENANT = "dgtest"
ROUTER_MIGRATIONS = ROOT / "services" / "router" / "migrations"
SINCE = datetime(2024, 12, 3, tzinfo=UTC)
UNTIL = datetime(2024, 12, 4, tzinfo=UTC)


@pytest.fixture(scope="module")
async def loaded(pg_dsn: str) -> dict[str, Any]:
    """The day's posts in ``retrieval.posts`` (about 6 s of text analysis)."""
    written = await load_window(pg_dsn, TENANT, SINCE, UNTIL)
    conn = await asyncpg.connect(pg_dsn)
    try:
        rows = await conn.fetch(
            "SELECT post_id, channel_id, date, duplicate_of, clean_text AS text"
            " FROM retrieval.posts WHERE tenant_id = $1",
            TENANT,
        )
    finally:
        await conn.close()
    return {"written": written, "rows": {r["post_id"]: dict(r) for r in rows}}


def _settings(bootstrap: str, prefix: str, dsn: str) -> DigestSettings:
    return load_settings(
        DigestSettings,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        postgres_dsn=dsn,
        startup_timeout_s=60,
        handler_retry_base_s=0.05,
        log_level="WARNING",
    )


def _command(run_id: str, channels: list[str]) -> GenerateDigest:
    return GenerateDigest(
        run_id=run_id,
        user_id="u1",
        kind="channel",
        channels=channels,
        period_days=1,
        until=UNTIL,
        formats=["markdown", "telegram_html"],
    )


async def _request(bootstrap: str, prefix: str, cmd: GenerateDigest) -> None:
    env = make_envelope(
        cmd,
        event_type="digest.requested",
        schema_version=1,
        producer="tests@0",
        tenant_id=TENANT,
        correlation_id=cmd.run_id,
    )
    value, headers = wire(env)
    await produce(
        bootstrap, prefix + "digest.requested.v1", value, key=cmd.run_id.encode(), headers=headers
    )


async def _results(bootstrap: str, prefix: str, run_id: str, n: int) -> list[dict[str, Any]]:
    def mine(records: list[Any]) -> list[dict[str, Any]]:
        out = []
        for r in records:
            payload = json.loads(r.value)["payload"]
            if payload["run_id"] == run_id:
                out.append(payload)
        return out

    records = await read_topic(
        bootstrap,
        prefix + "digest.completed.v1",
        until=lambda rs: len(mine(rs)) >= n,
        timeout_s=60,
    )
    return mine(records)


def _channels(loaded: dict[str, Any]) -> list[str]:
    return sorted({r["channel_id"] for r in loaded["rows"].values()})


async def test_one_day_digest_cites_resolve_no_duplicates_top_covered_and_idempotent(
    bootstrap: str, prefix: str, pg_dsn: str, loaded: dict[str, Any]
) -> None:
    rows = loaded["rows"]
    assert loaded["written"] > 700
    channels = _channels(loaded)
    run_id = f"r{uuid.uuid4().hex[:12]}"
    app = build_app(_settings(bootstrap, prefix, pg_dsn))
    async with running(app.kit):
        await _request(bootstrap, prefix, _command(run_id, channels))
        [first] = await _results(bootstrap, prefix, run_id, 1)
        # the same request again (a new envelope, the same run id)
        await _request(bootstrap, prefix, _command(run_id, channels))
        results = await _results(bootstrap, prefix, run_id, 2)
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://digest", headers=INTERNAL_HEADERS
        ) as http:
            found = await http.get(f"/v1/runs/{run_id}/manifest", params={"tenant_id": TENANT})
            other = await http.get(f"/v1/runs/{run_id}/manifest", params={"tenant_id": "other"})
    assert first["status"] == "completed", first
    assert first["quality_score"] >= 0.6
    items = first["items"]
    assert 5 <= len(items) <= 8
    assert len(first["telegram_html"]) <= 4096
    # every citation resolves to a post of the window and of the requested channels
    cited: dict[str, int] = {}
    for n, item in enumerate(items):
        assert item["citations"], item
        for c in item["citations"]:
            row = rows[c["post_id"]]
            assert SINCE <= row["date"] < UNTIL
            assert row["channel_id"] in channels
            assert c["permalink"].startswith("https://t.me/")
            assert c["post_id"] not in cited, f"post cited by items {cited.get(c['post_id'])}, {n}"
            cited[c["post_id"]] = n
    assert found.status_code == 200
    assert other.status_code == 404
    manifest = found.json()
    # no two items about one story, by the retrieval service's near-duplicate groups
    root = {pid: r["duplicate_of"] or pid for pid, r in rows.items()}
    roots_per_item = [{root[c["post_id"]] for c in item["citations"]} for item in items]
    for a in range(len(items)):
        for b in range(a):
            assert not roots_per_item[a] & roots_per_item[b], (items[a]["title"], items[b]["title"])
    # top stories covered: the service's own five largest clusters, and the day's two
    # biggest cross-channel stories as read by hand (martial law in South Korea, the
    # asteroid over Yakutia), each cited by an item whose title names it
    texts = {pid: r["text"] for pid, r in rows.items()}
    for story in manifest["steps"]["rank"]["out"]["top"]:
        assert set(story["members"]) & set(cited), story["id"]
    for cue in ("коре", "астероид"):
        assert any(cue in i["title"].lower() for i in items), cue
        assert any(cue in texts[p].lower() for p in cited), cue
    # the same request again: the same digest
    assert results[0] == results[1]
    # the manifest: references only, capped, served to the right tenant only
    assert len(json.dumps(manifest).encode()) <= 100 * 1024
    assert manifest["order"][:3] == ["plan", "collect", "rank"]
    assert manifest["steps"]["deliver"]["status"] == "done"
    dumped = json.dumps(manifest, ensure_ascii=False)
    assert items[0]["title"] not in dumped


def _spawn(dsn: str, bootstrap: str, prefix: str, marker: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.test_digest_service",
            dsn,
            bootstrap,
            prefix,
            str(marker),
        ],
        cwd=ROOT,
        env={**os.environ, "TGI_LOG_JSON": "true", "TGI_LOG_LEVEL": "WARNING"},
    )


async def test_killed_after_rank_resumes_from_its_last_step(
    bootstrap: str, prefix: str, pg_dsn: str, loaded: dict[str, Any], tmp_path: Path
) -> None:
    channels = _channels(loaded)
    marker = tmp_path / "marker.txt"
    marker.touch()
    run_id = f"k{uuid.uuid4().hex[:12]}"
    child = _spawn(pg_dsn, bootstrap, prefix, marker)
    try:
        await eventually(lambda: "ready" in marker.read_text(), timeout_s=60)
        await _request(bootstrap, prefix, _command(run_id, channels))
        await eventually(lambda: "step rank" in marker.read_text(), timeout_s=60)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert "step compose" not in marker.read_text()
    app = build_app(_settings(bootstrap, prefix, pg_dsn))
    async with running(app.kit):
        [resumed] = await _results(bootstrap, prefix, run_id, 1)
        manifest = await app.deps.store.manifest(TENANT, run_id)
        reference = await app.deps.runner.run(
            TENANT, _command(f"ref{uuid.uuid4().hex[:8]}", channels), now=UNTIL
        )
    assert manifest is not None
    assert manifest["resumed"] == 1
    steps = manifest["steps"]
    assert steps["collect"]["attempts"] == 1
    assert steps["rank"]["attempts"] == 1
    assert steps["compose"]["attempts"] == 1
    assert manifest["order"].count("rank") == 1
    assert resumed["status"] == "completed"
    assert resumed["markdown"] == reference.result.markdown
    assert resumed["items"] == [i.model_dump(mode="json") for i in reference.result.items]


async def test_persona_batch_builds_from_turns_and_feedback_and_steers_the_digest(
    pg_dsn: str, loaded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    router = PostgresResource(pg_dsn, schema="router", migrations=ROUTER_MIGRATIONS, max_size=2)
    await router.start()
    try:
        for n, query in enumerate(["что с курсом доллара", "курс рубля к доллару и евро"] * 3):
            await router.pool.execute(
                "INSERT INTO router.turns (tenant_id, user_id, run_id, query, answer, route,"
                " created_at) VALUES ($1, 'fan', $2, $3, '', 'qa', now())",
                TENANT,
                f"q{n}",
                query,
            )
    finally:
        await router.close()
    monkeypatch.setenv("TGI_POSTGRES_DSN", pg_dsn)
    await personas.main(
        ["feedback", "--tenant", TENANT, "--user", "fan", "--run", "x", "--rating", "up"]
    )
    await personas.main(["build", "--tenant", TENANT])
    db = PostgresResource(pg_dsn, schema="digest", migrations=MIGRATIONS, max_size=2)
    await db.start()
    try:
        store = PostgresRunStore(db)
        persona = await store.persona(TENANT, "fan")
        assert persona is not None
        assert "доллар" in persona.interests
        assert len(persona.embedding) == 256
        runner = DigestRunner(PostgresPostSource(db), store)
        channels = _channels(loaded)
        plain = await runner.run(TENANT, _command(f"p{uuid.uuid4().hex[:8]}", channels), now=UNTIL)
        cmd = _command(f"f{uuid.uuid4().hex[:8]}", channels).model_copy(
            update={"persona_id": "fan"}
        )
        mine = await runner.run(TENANT, cmd, now=UNTIL)
    finally:
        await db.close()
    assert mine.result.status == "completed"
    titles = [i.title.lower() for i in mine.result.items]
    assert any("доллар" in t or "рубл" in t for t in titles), titles
    assert [i.title for i in mine.result.items] != [i.title for i in plain.result.items]


async def _child(dsn: str, bootstrap: str, prefix: str, marker: Path) -> None:
    async def after(step: str) -> None:
        with marker.open("a") as fh:
            fh.write(f"step {step}\n")
        if step == "rank":
            await asyncio.sleep(3600)

    app = build_app(_settings(bootstrap, prefix, dsn), DigestDeps(after_step=after))
    await app.kit.start()
    with marker.open("a") as fh:
        fh.write("ready\n")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))
