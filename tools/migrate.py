"""``python -m tools.migrate [--dsn DSN] [--service NAME ...]``: apply the services' migrations.

The same code path every service runs at start-up (``servicekit.postgres.migrate``: schema
``<service>``, files ``services/<service>/migrations/NNNN_*.sql``, one transaction each, under
the schema's advisory lock). The Helm chart's pre-install/pre-upgrade Job and the Compose
``migrate`` service run it, so a failing migration stops a rollout before any new pod starts;
the services' own start-up migration then finds nothing left to do.

The DSN comes from ``--dsn`` or ``TGI_POSTGRES_DSN``. Exit status: 0 applied (or nothing to
do), 1 a migration failed or Postgres is unreachable, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from contracts.spec import SERVICES
from servicekit.logging import configure_logging
from servicekit.postgres import create_pool, migrate

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def migrations_of(service: str) -> Path:
    """The migrations folder of ``service`` (it may not exist: then only the schema is made)."""
    return SERVICES_DIR / service / "migrations"


async def migrate_all(dsn: str, services: list[str]) -> dict[str, list[str]]:
    """Apply pending migrations of each service in order; return the versions applied per
    service. Raises what :func:`servicekit.postgres.migrate` raises (a changed migration, a
    failing statement) or asyncpg's error when Postgres is unreachable."""
    pool = await create_pool(dsn, max_size=2)
    try:
        return {s: await migrate(pool, s, migrations_of(s)) for s in services}
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply every service's Postgres migrations")
    parser.add_argument("--dsn", default=os.environ.get("TGI_POSTGRES_DSN"))
    parser.add_argument(
        "--service",
        action="append",
        choices=SERVICES,
        help="only this service (repeatable); default: all six",
    )
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no DSN: pass --dsn or set TGI_POSTGRES_DSN")
    configure_logging("INFO", json=not sys.stderr.isatty(), service="migrate")
    services = args.service or list(SERVICES)
    try:
        applied = asyncio.run(migrate_all(args.dsn, services))
    except Exception as exc:
        print(f"migration failed: {exc!r}", file=sys.stderr)
        return 1
    for service, versions in applied.items():
        print(f"{service}: {', '.join(versions) if versions else 'up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
