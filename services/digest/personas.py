"""The offline persona batch: ``python -m services.digest.personas``.

- ``build --tenant T``: for every user of the tenant with queries (router turns), digest
  requests (router runs) or feedback, build the profile (``domain.persona.build_profile``),
  its embedding and summary, and store it as persona ``<user id>`` (replacing the old one).
  Run it on a schedule (cron, a Kubernetes CronJob); digests read the stored personas only.
- ``feedback --tenant T --user U --run R --rating up|down``: record a rating of a digest;
  the next ``build`` takes it into account (the stems of the rated digest's item titles).

Reads ``TGI_DIGEST_POSTGRES_DSN`` (or ``TGI_POSTGRES_DSN``) like the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from servicekit.postgres import PostgresResource
from servicekit.settings import load_settings
from services.digest.adapters.postgres_store import PostgresRunStore
from services.digest.app import MIGRATIONS
from services.digest.domain.persona import Feedback, build_profile
from services.digest.domain.text import stems
from services.digest.settings import DigestSettings


async def build(store: PostgresRunStore, db: PostgresResource, tenant: str) -> int:
    """Build and store the tenant's personas; returns how many."""
    sources = await store.personas_sources(tenant)
    for user, (queries, channels, ratings) in sorted(sources.items()):
        feedback = []
        for rating, run_id in ratings:
            result: Any = await db.pool.fetchval(
                "SELECT result FROM digest.digests WHERE tenant_id = $1 AND run_id = $2",
                tenant,
                run_id,
            )
            items = (json.loads(result) if isinstance(result, str) else result or {}).get(
                "items", []
            )
            terms = [t for item in items for t in stems(item.get("title", ""))]
            feedback.append(Feedback(rating, terms))
        await store.put_persona(tenant, build_profile(user, queries, channels, feedback))
    return len(sources)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Digest personas: offline batch and feedback")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build every persona of a tenant")
    b.add_argument("--tenant", required=True)
    f = sub.add_parser("feedback", help="rate a digest")
    f.add_argument("--tenant", required=True)
    f.add_argument("--user", required=True)
    f.add_argument("--run", required=True)
    f.add_argument("--rating", choices=["up", "down"], required=True)
    args = parser.parse_args(argv)
    settings = load_settings(DigestSettings)
    db = PostgresResource(str(settings.postgres_dsn), schema="digest", migrations=MIGRATIONS)
    await db.start()
    try:
        store = PostgresRunStore(db)
        if args.command == "build":
            print(f"personas built: {await build(store, db, args.tenant)}")
        else:
            await db.pool.execute(
                "INSERT INTO digest.feedback (tenant_id, user_id, run_id, rating)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id, run_id)"
                " DO UPDATE SET rating = EXCLUDED.rating, created_at = now()",
                args.tenant,
                args.user,
                args.run,
                1 if args.rating == "up" else -1,
            )
            print("feedback recorded")
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
