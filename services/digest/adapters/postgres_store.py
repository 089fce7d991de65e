"""RunStore on Postgres: ``digest.runs``, ``digest.digests``, ``digest.personas``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from servicekit.postgres import PostgresResource
from services.digest.domain.persona import Persona
from services.digest.ports import StoredRun

_LOAD: Final = """
SELECT r.run_id, r.status, r.manifest, d.result
FROM digest.runs r LEFT JOIN digest.digests d USING (tenant_id, run_id)
WHERE r.tenant_id = $1 AND r.run_id = $2
"""
_SAVE: Final = """
INSERT INTO digest.runs (tenant_id, run_id, user_id, request, status, manifest, manifest_bytes)
VALUES ($1, $2, $3, $4::jsonb, 'running', $5::jsonb, $6)
ON CONFLICT (tenant_id, run_id) DO UPDATE
SET manifest = EXCLUDED.manifest, manifest_bytes = EXCLUDED.manifest_bytes, updated_at = now()
WHERE digest.runs.status = 'running'
"""
_FINISH_RUN: Final = """
UPDATE digest.runs SET status = $3, manifest = $4::jsonb, manifest_bytes = $5, updated_at = now()
WHERE tenant_id = $1 AND run_id = $2
"""
_FINISH_DIGEST: Final = """
INSERT INTO digest.digests (tenant_id, run_id, status, result) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (tenant_id, run_id) DO NOTHING
"""
_PERSONA: Final = """
SELECT profile, embedding FROM digest.personas WHERE tenant_id = $1 AND persona_id = $2
"""
_PUT_PERSONA: Final = """
INSERT INTO digest.personas (tenant_id, persona_id, profile, embedding, summary)
VALUES ($1, $2, $3::jsonb, $4::real[], $5)
ON CONFLICT (tenant_id, persona_id) DO UPDATE
SET profile = EXCLUDED.profile, embedding = EXCLUDED.embedding, summary = EXCLUDED.summary,
    updated_at = now()
"""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class PostgresRunStore:
    """:class:`~services.digest.ports.RunStore` on Postgres. A finished run is never
    changed again: ``save_manifest`` only updates running runs, and the digest row is
    written once (the first result wins)."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def load(self, tenant_id: str, run_id: str) -> StoredRun | None:
        row = await self._db.pool.fetchrow(_LOAD, tenant_id, run_id)
        if row is None:
            return None
        result = _json(row["result"]) if row["result"] is not None else None
        return StoredRun(row["run_id"], row["status"], _json(row["manifest"]), result)

    async def save_manifest(
        self,
        tenant_id: str,
        run_id: str,
        user_id: str,
        request: dict[str, Any],
        manifest: bytes,
    ) -> None:
        await self._db.pool.execute(
            _SAVE,
            tenant_id,
            run_id,
            user_id,
            json.dumps(request),
            manifest.decode(),
            len(manifest),
        )

    async def finish(
        self, tenant_id: str, run_id: str, status: str, manifest: bytes, result: dict[str, Any]
    ) -> None:
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                _SAVE,
                tenant_id,
                run_id,
                str(result.get("user_id", "")),
                "{}",
                manifest.decode(),
                len(manifest),
            )
            await conn.execute(
                _FINISH_RUN, tenant_id, run_id, status, manifest.decode(), len(manifest)
            )
            await conn.execute(_FINISH_DIGEST, tenant_id, run_id, status, json.dumps(result))

    async def manifest(self, tenant_id: str, run_id: str) -> dict[str, Any] | None:
        """The stored manifest of a run, or None."""
        value = await self._db.pool.fetchval(
            "SELECT manifest FROM digest.runs WHERE tenant_id = $1 AND run_id = $2",
            tenant_id,
            run_id,
        )
        return None if value is None else dict(_json(value))

    async def persona(self, tenant_id: str, persona_id: str) -> Persona | None:
        row = await self._db.pool.fetchrow(_PERSONA, tenant_id, persona_id)
        if row is None:
            return None
        p = _json(row["profile"])
        return Persona(
            persona_id=persona_id,
            interests=dict(p["interests"]),
            channels=tuple(p["channels"]),
            length=p["length"],
            style=p["style"],
            embedding=tuple(float(x) for x in row["embedding"]),
        )

    async def put_persona(self, tenant_id: str, persona: Persona) -> None:
        """Store (or replace) a persona with its embedding and summary."""
        profile = {
            "interests": dict(persona.interests),
            "channels": list(persona.channels),
            "length": persona.length,
            "style": persona.style,
        }
        await self._db.pool.execute(
            _PUT_PERSONA,
            tenant_id,
            persona.persona_id,
            json.dumps(profile),
            list(persona.embedding),
            persona.summary(),
        )

    async def personas_sources(
        self, tenant_id: str
    ) -> dict[str, tuple[list[str], list[Sequence[str]], list[tuple[int, str]]]]:
        """Per user of the tenant: their queries (router turns), the channels of their digest
        requests (router runs) and their feedback (rating, run id). Reads the router's tables
        when they exist (the batch runs where the router's schema lives)."""
        pool = self._db.pool
        out: dict[str, tuple[list[str], list[Sequence[str]], list[tuple[int, str]]]] = {}
        has_router = await pool.fetchval("SELECT to_regclass('router.turns') IS NOT NULL")
        if has_router:
            for r in await pool.fetch(
                "SELECT user_id, query FROM router.turns WHERE tenant_id = $1 ORDER BY turn_id",
                tenant_id,
            ):
                out.setdefault(r["user_id"], ([], [], []))[0].append(r["query"])
            for r in await pool.fetch(
                "SELECT user_id, request FROM router.runs WHERE tenant_id = $1 AND kind = 'digest'",
                tenant_id,
            ):
                req = _json(r["request"]) or {}
                chans = (req.get("digest") or {}).get("channels") or []
                out.setdefault(r["user_id"], ([], [], []))[1].append(list(chans))
        for r in await pool.fetch(
            "SELECT user_id, rating, run_id FROM digest.feedback WHERE tenant_id = $1",
            tenant_id,
        ):
            out.setdefault(r["user_id"], ([], [], []))[2].append((int(r["rating"]), r["run_id"]))
        return out
